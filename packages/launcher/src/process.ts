import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { readProcStat } from '@corral/procfs';

/** wait(2) status of a process killed by SIGKILL: what a missing status file stands for. */
export const KILLED_STATUS = 9;

const POLL_INTERVAL_MS = 100;

/** Start time of `pid` in clock ticks since boot, or undefined when there is no such process. */
export function readProcessStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/** True while `pid` is the process that started at `startTime` and has not exited (zombie). */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

/** The wait status in an init's status file; `KILLED_STATUS` when the file is missing or empty. */
export async function readExitStatus(statusFile: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(statusFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return KILLED_STATUS;
    throw error;
  }
  if (text.trim() === '') return KILLED_STATUS;
  const status = Number(text.trim());
  if (!Number.isSafeInteger(status) || status < 0) {
    throw new Error(`Status file '${statusFile}' holds ${JSON.stringify(text)}, not a wait status`);
  }
  return status;
}

/**
 * Resolves with the wait status of an init that is not our child (found again after an agent
 * restart), within ~100 ms of its exit: the status file appearing is the fast path, polling
 * /proc the fallback. Keeps no event-loop reference, so it never holds the agent open.
 */
export function watchProcessExit(
  pid: number,
  startTime: number,
  statusFile: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = false;
    let watcher: ReturnType<typeof watch> | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      watcher?.close();
      readExitStatus(statusFile).then(resolve, reject);
    };
    const check = (): void => {
      try {
        if (!isSameProcess(pid, startTime)) finish();
      } catch (error) {
        done = true;
        clearInterval(timer);
        watcher?.close();
        reject(error);
      }
    };
    const timer = setInterval(check, POLL_INTERVAL_MS);
    timer.unref();
    try {
      // The helper renames the finished status file into place just before it exits.
      const name = basename(statusFile);
      watcher = watch(dirname(statusFile), { persistent: false }, (_event, file) => {
        if (file === name) finish();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No watchable directory (it may not exist yet): polling alone still notices the exit.
    }
    check();
  });
}
