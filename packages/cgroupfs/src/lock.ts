import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { CgroupMountError } from './errors.ts';

/**
 * Runs `fn` while holding an exclusive flock(2) on `lockFile`, shared with every other process
 * (and every other call in this one) that locks the same file.
 *
 * Node has no flock binding, so util-linux `flock` takes the lock on a descriptor it inherits from
 * us: a flock belongs to the open file description, so after `flock` exits we still hold it
 * through our own descriptor, and closing that releases it. If this process dies the kernel closes
 * the descriptor, so a crashed holder never leaves a stale lock behind.
 */
export async function withFileLock<T>(
  lockFile: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  // libuv opens with O_CLOEXEC, so other children of this process do not inherit the lock.
  const fd = openSync(lockFile, 'a', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const seconds = String(Math.max(timeoutMs, 1) / 1000);
      const child = spawn('flock', ['--exclusive', '--wait', seconds, '3'], {
        stdio: ['ignore', 'ignore', 'pipe', fd],
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.on('error', (error) =>
        reject(
          new CgroupMountError('lock_timeout', undefined, `Could not run flock: ${error.message}`, {
            cause: error,
          }),
        ),
      );
      child.on('close', (code, signal) => {
        if (code === 0) {
          resolve();
          return;
        }
        reject(
          new CgroupMountError(
            'lock_timeout',
            undefined,
            `Could not lock '${lockFile}' within ${timeoutMs} ms ` +
              `(flock exited with ${code ?? signal}${stderr ? `: ${stderr.trim()}` : ''})`,
          ),
        );
      });
    });
    return await fn();
  } finally {
    closeSync(fd);
  }
}
