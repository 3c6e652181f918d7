import type { ChildProcess } from 'node:child_process';

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
