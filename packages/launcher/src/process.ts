import { readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { readProcStat } from '@corral/procfs';

/** wait(2) status of a process killed by SIGKILL: what a missing status file stands for. */
export const KILLED_STATUS = 9;

/** How often watched processes are checked for an exit that left no status file. */
const POLL_INTERVAL_MS = 250;

/** Start time of `pid` in clock ticks since boot, or undefined when there is no such process. */
export function readProcessStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

/** True while `pid` is the process that started at `startTime` and has not exited (zombie). */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

/**
 * The wait status in an init's status file; `KILLED_STATUS` when the file is missing or empty.
 * Read synchronously: a few bytes the init has just written (in the page cache, or on tmpfs),
 * where the promise API would make four threadpool round trips per container exit.
 */
export async function readExitStatus(statusFile: string): Promise<number> {
  let text: string;
  try {
    text = readFileSync(statusFile, 'utf8');
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
interface ExitWatch {
  readonly pid: number;
  readonly startTime: number;
  finish(): void;
  fail(error: unknown): void;
}

/**
 * One ticker for every watched process: after a restart an agent may watch a thousand inits, and
 * a timer each (10 reads of /proc a second per container) cost a quarter of its CPU.
 */
const exitWatches = new Set<ExitWatch>();
let exitTicker: NodeJS.Timeout | undefined;

function checkExit(entry: ExitWatch): void {
  try {
    if (!isSameProcess(entry.pid, entry.startTime)) entry.finish();
  } catch (error) {
    entry.fail(error);
  }
}

/**
 * Longest a tick reads /proc for. With 10,000 recovered inits one pass takes ~200 ms of reads
 * (~20 µs each here), which would stall the agent four times a second; a tick instead goes on
 * where the last one stopped, so a pass spans several ticks. Destroys do not wait for it
 * (`checkProcessExit`); only an init that dies unasked, without a status file, is seen later.
 */
const TICK_BUDGET_MS = 5;
let nextToCheck: IterableIterator<ExitWatch> | undefined;

function checkExits(): void {
  const started = performance.now();
  for (let left = exitWatches.size; left > 0; left--) {
    let next = nextToCheck?.next();
    if (!next || next.done) {
      nextToCheck = exitWatches.values();
      next = nextToCheck.next();
      if (next.done) return;
    }
    checkExit(next.value);
    if (performance.now() - started > TICK_BUDGET_MS) return;
  }
}

/**
 * Looks at once whether the watched process `pid` has exited, rather than at the next tick: a
 * launcher calls it when it knows the process is gone (its cgroup or process group emptied), so
 * that destroying a recovered container does not wait up to `POLL_INTERVAL_MS` for its status.
 */
export function checkProcessExit(pid: number): void {
  for (const entry of exitWatches)
    if (entry.pid === pid) checkExpectedExit(entry, EXIT_RECHECKS_MS);
}

/**
 * Delays after which a process expected to be gone is looked at again: a killed process leaves
 * its cgroup before it turns zombie, so it may still be in the middle of exiting.
 */
const EXIT_RECHECKS_MS = [1, 4, 16, 64];

function checkExpectedExit(entry: ExitWatch, delays: readonly number[]): void {
  checkExit(entry);
  const [delay, ...later] = delays;
  if (delay === undefined || !exitWatches.has(entry)) return;
  setTimeout(() => checkExpectedExit(entry, later), delay).unref();
}

function stopWatching(entry: ExitWatch): void {
  exitWatches.delete(entry);
  if (exitWatches.size === 0 && exitTicker) {
    clearInterval(exitTicker);
    exitTicker = undefined;
  }
}

/**
 * Resolves with the wait status of an init that is not this process's child (one recovered after
 * an agent restart) once it exits: at once when it renames its status file into place (a watch
 * on the directory), and within `POLL_INTERVAL_MS` when it dies without writing one (SIGKILL).
 * Never keeps the event loop alive.
 */
export function watchProcessExit(
  pid: number,
  startTime: number,
  statusFile: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let watcher: ReturnType<typeof watch> | undefined;
    const entry: ExitWatch = {
      pid,
      startTime,
      finish: () => {
        if (!exitWatches.has(entry)) return;
        stopWatching(entry);
        watcher?.close();
        readExitStatus(statusFile).then(resolve, reject);
      },
      fail: (error) => {
        stopWatching(entry);
        watcher?.close();
        reject(error);
      },
    };
    exitWatches.add(entry);
    if (!exitTicker) {
      exitTicker = setInterval(checkExits, POLL_INTERVAL_MS);
      exitTicker.unref();
    }
    try {
      // The helper renames the finished status file into place just before it exits.
      const name = basename(statusFile);
      watcher = watch(dirname(statusFile), { persistent: false }, (_event, file) => {
        if (file === name) entry.finish();
      });
      watcher.on('error', () => watcher?.close());
    } catch {
      // No watchable directory (it may not exist yet): polling alone still notices the exit.
    }
    try {
      if (!isSameProcess(pid, startTime)) entry.finish();
    } catch (error) {
      entry.fail(error);
    }
  });
}
