import { spawn } from 'node:child_process';
import { CorralError } from '@corral/core';

/** Runs `argv` with `input` on stdin and resolves with its stdout; the real one is `runCommand`. */
export type CommandRunner = (argv: readonly string[], input?: string) => Promise<string>;

/** `nft` or `tc` exited non-zero: the command, the input it was given and what it said. */
export class EgressCommandError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_EGRESS_COMMAND_FAILED';
  readonly argv: readonly string[];
  readonly stderr: string;

  constructor(argv: readonly string[], status: string, stderr: string, input?: string) {
    super(
      `'${argv.join(' ')}' ${status}: ${stderr.trim() || '(no output)'}` +
        (input ? `\ninput:\n${input.trimEnd()}` : ''),
    );
    this.argv = argv;
    this.stderr = stderr;
  }
}

/** Spawns the command (never through a shell), off the event loop while it runs. */
export const runCommand: CommandRunner = (argv, input) =>
  new Promise((resolve, reject) => {
    const [file = '', ...args] = argv;
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) =>
      reject(new EgressCommandError(argv, 'could not run', error.message)),
    );
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0) return resolve(stdout);
      const status = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(new EgressCommandError(argv, status, Buffer.concat(err).toString('utf8'), input));
    });
    child.stdin.on('error', () => {
      // EPIPE when the command exits before reading everything; its exit status tells why.
    });
    child.stdin.end(input ?? '');
  });
