// The README's "run" command. The agent (apps/agent, issue #7) is not built yet: until it is,
// this placeholder says so instead of pretending to start something.
console.log(
  'corral: the agent (corral-agent) is not implemented yet; this placeholder will be replaced by it. ' +
    'Run the tests with: npx -y pnpm@12.21.0 install --frozen-lockfile && npx -y pnpm@12.21.0 test',
);
