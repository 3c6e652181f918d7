import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';

/** What a child process has written so far, as text. */
export interface CapturedOutput {
  stdout(): string;
  stderr(): string;
}

/** Collects a child's stdout and stderr (both must be pipes) as UTF-8 text while it runs. */
export function captureOutput(child: ChildProcess): CapturedOutput {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export type CapturedChild = ChildProcess & { readonly result: Promise<RunResult> };

/** Starts a command with piped stdout and stderr; `result` resolves once it has closed them. */
export function spawnCaptured(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): CapturedChild {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const result = once(child, 'close').then(() => ({
    status: child.exitCode,
    stdout: output.stdout(),
    stderr: output.stderr(),
  }));
  return Object.assign(child, { result });
}
