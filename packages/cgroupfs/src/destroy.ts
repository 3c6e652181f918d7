import { existsSync, rmdirSync, statfsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import {
  cgroupExists,
  cgroupPath,
  listChildCgroups,
  listProcesses,
  normalizeCgroup,
  processCgroups,
  readControl,
  writeControl,
} from './cgroup.ts';
import { CgroupError, errnoOf } from './errors.ts';
import { pollUntil } from './poll.ts';
import { freezeCgroup, hasFreezer, thawCgroup } from './v1/freezer.ts';
import { supportsCgroupKill, writeCgroupKill } from './v2/kill.ts';

/** How `killCgroupProcesses` kills, chosen from the control files the cgroup has. */
export type KillMethod = 'cgroup.kill' | 'freezer' | 'signal';

export interface KillOptions {
  /** The bound on the whole operation. Default 60 s (Mesos' `--cgroups_destroy_timeout`). */
  readonly timeoutMs?: number;
  /**
   * Settles when the cgroup has probably emptied, e.g. once its main process was reaped: the
   * wait for the processes to leave checks at once then. The kernel rate-limits the change
   * notifications of `cgroup.events` to one per 10 ms, so without it a cgroup that was populated
   * less than 10 ms ago is only seen empty at the next timer tick (1 ms or more).
   */
  readonly wake?: Promise<unknown> | undefined;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** Mesos' FREEZE_RETRY_INTERVAL: a freeze that hangs longer is abandoned, then retried. */
const FREEZE_RETRY_MS = 10_000;
/** After a freeze-kill-thaw round, how long to wait for the killed processes to leave. */
const EXIT_WAIT_MS = 2_000;
const RMDIR_BACKOFF_MAX_MS = 128;

/** statfs types of cgroup v1 and v2 mounts (linux/magic.h). */
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** The kill method of each real cgroup mount asked about: every destroy asks. */
const mountKillMethods = new Map<string, KillMethod>();

/**
 * The method `killCgroupProcesses` uses for `cgroup`: v2 `cgroup.kill` where the file exists,
 * else the v1 freezer where `freezer.state` exists, else a SIGKILL loop. Every non-root cgroup
 * of a cgroup mount has the same control files, so the answer is kept per mount once an existing
 * cgroup gave it; a directory that only looks like a hierarchy (a test's fake tree) is asked
 * each time.
 */
export function killMethod(hierarchy: string, cgroup: string): KillMethod {
  const known = mountKillMethods.get(hierarchy);
  if (known !== undefined) return known;
  const method: KillMethod = supportsCgroupKill(hierarchy, cgroup)
    ? 'cgroup.kill'
    : hasFreezer(hierarchy, cgroup)
      ? 'freezer'
      : 'signal';
  if (cgroupExists(hierarchy, cgroup) && isCgroupMount(hierarchy)) {
    mountKillMethods.set(hierarchy, method);
  }
  return method;
}

function isCgroupMount(hierarchy: string): boolean {
  const { type } = statfsSync(hierarchy);
  return type === CGROUP_SUPER_MAGIC || type === CGROUP2_SUPER_MAGIC;
}

/**
 * Kills every process in `cgroup` and its descendants and resolves once none is left (zombies
 * are not listed, so a process counts as gone once it has exited). A process that forks while
 * being killed does not escape: `cgroup.kill` catches forks in the kernel; the freezer stops
 * every process before the SIGKILLs; the SIGKILL loop re-reads the cgroups until they are empty.
 * Succeeds at once when the cgroup does not exist. Refuses the root cgroup, and a tree that holds
 * the calling process. Waits with timers only: the event loop stays free.
 */
export async function killCgroupProcesses(
  hierarchy: string,
  cgroup: string,
  { timeoutMs = DEFAULT_TIMEOUT_MS, wake }: KillOptions = {},
): Promise<void> {
  refuseRoot('kill', hierarchy, cgroup);
  await killTree(hierarchy, normalizeCgroup(cgroup), Date.now() + timeoutMs, timeoutMs, wake);
}

/**
 * Removes `cgroup` at once when it is an empty leaf. Otherwise kills everything in `cgroup` and
 * its descendants (see `killCgroupProcesses`), then removes them bottom-up, retrying rmdir on EBUSY (the kernel says so briefly after the last process
 * exits) with exponential backoff from 1 ms. Succeeds when the cgroup is already gone. Fails
 * with a `CgroupError` naming what is left when `timeoutMs` (default 60 s) runs out.
 */
export async function destroyCgroup(
  hierarchy: string,
  cgroup: string,
  { timeoutMs = DEFAULT_TIMEOUT_MS, wake }: KillOptions = {},
): Promise<void> {
  refuseRoot('destroy', hierarchy, cgroup);
  const target = normalizeCgroup(cgroup);
  // An empty leaf (a container that exited, or one killed through another hierarchy) goes with
  // one rmdir: the kernel refuses it while processes or child cgroups are left.
  if (removedAsLeaf(hierarchy, target)) return;
  const deadline = Date.now() + timeoutMs;
  await killTree(hierarchy, target, deadline, timeoutMs, wake);
  await removeTree(hierarchy, target, deadline, timeoutMs);
}

function refuseRoot(operation: string, hierarchy: string, cgroup: string): void {
  if (normalizeCgroup(cgroup) === '') {
    throw new CgroupError(operation, cgroupPath(hierarchy, cgroup), {
      detail: `refusing to ${operation} a hierarchy's root cgroup: it holds every process not placed elsewhere`,
    });
  }
}

/** `cgroup` and its descendants, children before parents; [] when `cgroup` does not exist. */
function subtree(hierarchy: string, cgroup: string): string[] {
  try {
    return [...listChildCgroups(hierarchy, cgroup, { recursive: true, bottomUp: true }), cgroup];
  } catch (error) {
    if (isGone(error, hierarchy, cgroup)) return [];
    throw error;
  }
}

function subtreeProcesses(hierarchy: string, cgroups: readonly string[]): number[] {
  return cgroups.flatMap((cgroup) => {
    try {
      return listProcesses(hierarchy, cgroup);
    } catch (error) {
      if (isGone(error, hierarchy, cgroup)) return [];
      throw error;
    }
  });
}

function processesLeft(hierarchy: string, cgroup: string): number[] {
  return subtreeProcesses(hierarchy, subtree(hierarchy, cgroup));
}

/** An error that only says the cgroup was removed meanwhile (e.g. by a concurrent destroy). */
function isGone(error: unknown, hierarchy: string, cgroup: string): boolean {
  const errno = error instanceof CgroupError ? error.errno : errnoOf(error);
  return errno === 'ENOENT' && !cgroupExists(hierarchy, cgroup);
}

function sigkill(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if (errnoOf(error) !== 'ESRCH') throw error;
    }
  }
}

async function killTree(
  hierarchy: string,
  cgroup: string,
  deadline: number,
  timeoutMs: number,
  wake?: Promise<unknown>,
): Promise<void> {
  const path = cgroupPath(hierarchy, cgroup);
  const method = killMethod(hierarchy, cgroup);
  let empty: boolean;
  if (method === 'cgroup.kill') {
    // `populated` covers the subtree: one read instead of listing every cgroup's processes.
    if (!isPopulated(hierarchy, cgroup)) return;
    refuseOwnCgroup(path, cgroup);
    empty = await killWithCgroupKill(hierarchy, cgroup, deadline, wake);
  } else {
    const initial = processesLeft(hierarchy, cgroup);
    if (initial.length === 0) return;
    if (initial.includes(process.pid)) refuseSelf(path);
    empty =
      method === 'freezer'
        ? await killWithFreezer(hierarchy, cgroup, deadline)
        : await killWithSignals(hierarchy, cgroup, deadline);
  }
  if (!empty) {
    const left = processesLeft(hierarchy, cgroup);
    throw new CgroupError('kill', path, {
      errno: 'ETIMEDOUT',
      detail: `timed out after ${timeoutMs} ms; ${left.length} process(es) left: ${describePids(left)}`,
    });
  }
}

function refuseSelf(path: string): never {
  throw new CgroupError('kill', path, {
    detail: `this process (pid ${process.pid}) is in the cgroup; refusing to kill itself`,
  });
}

/** Refuses a cgroup v2 `cgroup` that holds this process, from /proc/self/cgroup. */
function refuseOwnCgroup(path: string, cgroup: string): void {
  const own = processCgroups('self')
    .find((entry) => entry.hierarchyId === 0)
    ?.path.slice(1);
  if (own !== undefined && (own === cgroup || own.startsWith(`${cgroup}/`))) refuseSelf(path);
}

function describePids(pids: readonly number[]): string {
  return pids.length > 20 ? `${pids.slice(0, 20).join(', ')}, …` : pids.join(', ');
}

async function killWithCgroupKill(
  hierarchy: string,
  cgroup: string,
  deadline: number,
  wake: Promise<unknown> | undefined,
): Promise<boolean> {
  try {
    writeCgroupKill(hierarchy, cgroup);
  } catch (error) {
    if (isGone(error, hierarchy, cgroup)) return true;
    // Threaded cgroups refuse cgroup.kill; signals still work there.
    if (error instanceof CgroupError && error.errno === 'EOPNOTSUPP') {
      return killWithSignals(hierarchy, cgroup, deadline);
    }
    throw error;
  }
  // `populated` covers the whole subtree, so one file answers for every descendant.
  // The caller's hint is cheaper than a watch; the watch helps where there is none.
  return pollUntil(() => !isPopulated(hierarchy, cgroup), deadline, {
    minMs: 1,
    maxMs: 10,
    ...(wake === undefined
      ? { wakeOn: `${cgroupPath(hierarchy, cgroup)}/cgroup.events` }
      : { wakeWhen: wake }),
  });
}

function isPopulated(hierarchy: string, cgroup: string): boolean {
  let events: string;
  try {
    events = readControl(hierarchy, cgroup, 'cgroup.events');
  } catch (error) {
    if (isGone(error, hierarchy, cgroup)) return false;
    throw error;
  }
  return !/^populated 0$/m.test(events);
}

/**
 * Mesos' freezer kill (§2.7): freeze the tree so nothing can fork, SIGKILL every process, thaw
 * so the signals are delivered, wait for the processes to leave. A freeze that hangs (MESOS-1758)
 * is abandoned after 10 s and the kill and thaw run anyway; any round that leaves processes
 * behind is repeated until the deadline.
 */
async function killWithFreezer(
  hierarchy: string,
  cgroup: string,
  deadline: number,
): Promise<boolean> {
  for (;;) {
    const cgroups = subtree(hierarchy, cgroup);
    if (subtreeProcesses(hierarchy, cgroups).length === 0) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    try {
      await freezeCgroup(hierarchy, cgroup, { timeoutMs: Math.min(FREEZE_RETRY_MS, left) });
    } catch (error) {
      if (isGone(error, hierarchy, cgroup)) return true;
      if (!(error instanceof CgroupError && error.errno === 'ETIMEDOUT')) throw error;
    }
    sigkill(subtreeProcesses(hierarchy, subtree(hierarchy, cgroup)));
    try {
      thawTree(hierarchy, subtree(hierarchy, cgroup));
      await thawCgroup(hierarchy, cgroup, { timeoutMs: Math.max(deadline - Date.now(), 1) });
    } catch (error) {
      if (isGone(error, hierarchy, cgroup)) return true;
      throw error;
    }
    const exitDeadline = Math.min(deadline, Date.now() + EXIT_WAIT_MS);
    if (await pollUntil(() => processesLeft(hierarchy, cgroup).length === 0, exitDeadline)) {
      return true;
    }
  }
}

/**
 * Thawing the top of the tree is not enough when a descendant was frozen on its own; a frozen
 * process never acts on its SIGKILL, so every cgroup is thawed, parents first.
 */
function thawTree(hierarchy: string, bottomUp: readonly string[]): void {
  for (const cgroup of [...bottomUp].reverse()) {
    try {
      writeControl(hierarchy, cgroup, 'freezer.state', 'THAWED');
    } catch (error) {
      if (!isGone(error, hierarchy, cgroup)) throw error;
    }
  }
}

/** SIGKILL whatever the tree lists, re-read, repeat: children forked meanwhile are caught next round. */
function killWithSignals(hierarchy: string, cgroup: string, deadline: number): Promise<boolean> {
  return pollUntil(
    () => {
      const pids = processesLeft(hierarchy, cgroup);
      sigkill(pids);
      return pids.length === 0;
    },
    deadline,
    { minMs: 1, maxMs: 10 },
  );
}

/** True when `cgroup` is gone after one rmdir; false when it still has children or is busy. */
function removedAsLeaf(hierarchy: string, cgroup: string): boolean {
  try {
    rmdirSync(cgroupPath(hierarchy, cgroup));
    return true;
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'ENOENT') return true;
    if (errno === 'EBUSY' || errno === 'ENOTEMPTY') return false;
    throw new CgroupError('rmdir', cgroupPath(hierarchy, cgroup), { errno, cause: error });
  }
}

async function removeTree(
  hierarchy: string,
  cgroup: string,
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  // Most cgroups destroyed are leaves whose processes just left: one rmdir, without listing.
  if (removedAsLeaf(hierarchy, cgroup)) return;
  let backoffMs = 1;
  for (;;) {
    // Listed afresh each round, so a child cgroup created meanwhile is removed too.
    const cgroups = subtree(hierarchy, cgroup);
    if (cgroups.length === 0) return;
    const busy = removeBottomUp(hierarchy, cgroups);
    if (busy === undefined) continue;
    if (Date.now() >= deadline) {
      const left = subtree(hierarchy, cgroup);
      throw new CgroupError('rmdir', cgroupPath(hierarchy, busy), {
        errno: 'EBUSY',
        detail:
          `timed out after ${timeoutMs} ms; cgroups left: ${left.join(', ')}; ` +
          `processes left: ${describePids(subtreeProcesses(hierarchy, left)) || 'none'}`,
      });
    }
    // Processes can only be here if they were moved in after the kill: kill them too.
    if (processesLeft(hierarchy, cgroup).length > 0) {
      await killTree(hierarchy, cgroup, deadline, timeoutMs);
    }
    await delay(Math.max(0, Math.min(backoffMs, deadline - Date.now())));
    backoffMs = Math.min(backoffMs * 2, RMDIR_BACKOFF_MAX_MS);
  }
}

/** rmdir each cgroup in order; returns the first the kernel calls busy, if any. */
function removeBottomUp(hierarchy: string, bottomUp: readonly string[]): string | undefined {
  for (const cgroup of bottomUp) {
    const path = cgroupPath(hierarchy, cgroup);
    try {
      rmdirSync(path);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'EBUSY') return cgroup;
      // As in Mesos, any other failure counts as success if the directory is gone.
      if (errno === 'ENOENT' || !existsSync(path)) continue;
      throw new CgroupError('rmdir', path, { errno, cause: error });
    }
  }
  return undefined;
}
