import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupPath, readControl, writeControl } from '../cgroup.ts';
import { CgroupError } from '../errors.ts';
import { pollUntil } from '../poll.ts';

/** What a v1 `freezer.state` reads: FREEZING while the kernel is still stopping tasks. */
export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

export interface FreezerOptions {
  /** How long to wait for the state to read back. Default 10 s (Mesos' FREEZE_RETRY_INTERVAL). */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * True when `cgroup` has a v1 `freezer.state`: a non-root cgroup of a hierarchy the freezer
 * subsystem is attached to (the root cgroup cannot be frozen and has none).
 */
export function hasFreezer(hierarchy: string, cgroup: string): boolean {
  return existsSync(join(cgroupPath(hierarchy, cgroup), 'freezer.state'));
}

export function readFreezerState(hierarchy: string, cgroup: string): FreezerState {
  const state = readControl(hierarchy, cgroup, 'freezer.state').trim();
  if (state !== 'THAWED' && state !== 'FREEZING' && state !== 'FROZEN') {
    throw new CgroupError('read', join(cgroupPath(hierarchy, cgroup), 'freezer.state'), {
      detail: `unexpected freezer state ${JSON.stringify(state)}`,
    });
  }
  return state;
}

async function setFreezerState(
  hierarchy: string,
  cgroup: string,
  wanted: 'FROZEN' | 'THAWED',
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  writeControl(hierarchy, cgroup, 'freezer.state', wanted);
  // The v1 freezer answers the write at once but stops tasks asynchronously; the state reads
  // FROZEN only once every task in the cgroup and its descendants has stopped.
  const reached = await pollUntil(() => readFreezerState(hierarchy, cgroup) === wanted, deadline, {
    minMs: 1,
    maxMs: 20,
  });
  if (!reached) {
    throw new CgroupError(wanted === 'FROZEN' ? 'freeze' : 'thaw', cgroupPath(hierarchy, cgroup), {
      errno: 'ETIMEDOUT',
      detail: `freezer.state still reads ${readFreezerState(hierarchy, cgroup)} after ${timeoutMs} ms`,
    });
  }
}

/**
 * Freezes every process in `cgroup` and its descendants (the v1 freezer is hierarchical) and
 * resolves once `freezer.state` reads FROZEN. A frozen process cannot run, so it cannot fork.
 */
export function freezeCgroup(
  hierarchy: string,
  cgroup: string,
  { timeoutMs = DEFAULT_TIMEOUT_MS }: FreezerOptions = {},
): Promise<void> {
  return setFreezerState(hierarchy, cgroup, 'FROZEN', timeoutMs);
}

/** Thaws `cgroup` and resolves once `freezer.state` reads THAWED. */
export function thawCgroup(
  hierarchy: string,
  cgroup: string,
  { timeoutMs = DEFAULT_TIMEOUT_MS }: FreezerOptions = {},
): Promise<void> {
  return setFreezerState(hierarchy, cgroup, 'THAWED', timeoutMs);
}
