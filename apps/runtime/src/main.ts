import { constants } from 'node:os';
import { parseInvocation } from './args.ts';
import { RuncError } from './errors.ts';
import { runc } from './runc.ts';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** The only place that touches argv, the environment, signals and the exit status. */
async function main(): Promise<number> {
  let invocation: ReturnType<typeof parseInvocation>;
  try {
    invocation = parseInvocation(process.argv.slice(2), process.env, process.cwd());
  } catch (error) {
    if (!(error instanceof RuncError)) throw error;
    process.stderr.write(`corral-runc: ${error.message}\n`);
    return 1;
  }
  return runc(invocation, {
    stdout: (chunk) => process.stdout.write(chunk),
    stderr: (chunk) => process.stderr.write(chunk),
    onSignals(forward) {
      const handlers = FORWARDED.map((name) => {
        const handler = () => forward(constants.signals[name]);
        process.on(name, handler);
        return () => process.off(name, handler);
      });
      return () => {
        for (const off of handlers) off();
      };
    },
  });
}

// exitCode rather than exit(): the container's last output must drain into a pipe first.
process.exitCode = await main();
