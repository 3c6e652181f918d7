import { runCli } from './cli.ts';

// A reader that goes away (`corral logs ID | head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/** The only place that touches argv, the environment and the exit status. */
const status = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  out: {
    stdout: (chunk) => process.stdout.write(chunk),
    stderr: (chunk) => process.stderr.write(chunk),
  },
});
// exitCode rather than exit(): let stdout drain (e.g. a large `corral logs` into a pipe).
process.exitCode = status;
