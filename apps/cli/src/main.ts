import { runCli } from './cli.ts';
import type { Terminal } from './commands/command.ts';

// A reader that goes away (`corral logs ID | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { stdin, stdout } = process;
const terminal: Terminal | undefined =
  stdin.isTTY && stdout.isTTY
    ? {
        readKeys(onKey) {
          stdin.setRawMode(true);
          stdin.setEncoding('utf8');
          stdin.on('data', onKey);
          stdin.resume();
          return () => {
            stdin.off('data', onKey);
            stdin.setRawMode(false);
            stdin.pause();
          };
        },
      }
    : undefined;

/** The only place that touches argv, the environment, the terminal and the exit status. */
const status = await runCli({
  terminal,
  argv: process.argv.slice(2),
  env: process.env,
  out: {
    stdout: (chunk) => process.stdout.write(chunk),
    stderr: (chunk) => process.stderr.write(chunk),
  },
});
// exitCode rather than exit(): let stdout drain (e.g. a large `corral logs` into a pipe).
process.exitCode = status;
