export { type RunOptions, runCli } from './cli.ts';
export { AgentClient, type AgentClientOptions, DEFAULT_AGENT_URL } from './client.ts';
export * from './errors.ts';
