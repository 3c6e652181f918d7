import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoOf } from '../src/errors.ts';
import { withFileLock } from '../src/lock.ts';
import { readMounts } from '../src/mounts.ts';
import { unmountHierarchy } from '../src/v1/hierarchy.ts';

/**
 * Test runs share the hierarchies they mount: prepareV1Hierarchy hands a second, concurrent run
 * the mount the first one made. So the last run to finish, not the one that mounted, unmounts. A
 * lease is a file naming the hierarchy and the holder's pid; leases of dead pids do not count.
 */
const LEASES = join(tmpdir(), 'corral-cgroupfs-test-leases');
const LEASE_LOCK = `${LEASES}.lock`;
/** Temp base directories of test mounts start with this; nothing else is ever unmounted. */
export const TEST_MOUNT_PREFIX = join(tmpdir(), 'corral-cgroupfs-test-mount-');
const LOCK_TIMEOUT_MS = 60_000;

export interface HierarchyLease {
  readonly hierarchy: string;
  /** Whether the hierarchy is a test mount (which the last lease holder unmounts). */
  readonly testMount: boolean;
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) !== 'ESRCH';
  }
}

function testMountBase(hierarchy: string): string | undefined {
  if (!hierarchy.startsWith(TEST_MOUNT_PREFIX)) return undefined;
  const end = hierarchy.indexOf('/', TEST_MOUNT_PREFIX.length);
  return end < 0 ? hierarchy : hierarchy.slice(0, end);
}

/**
 * Runs `prepare` with a fresh temp base directory and takes a lease on the hierarchy it
 * returns. The lease lock is held throughout, so no other run can unmount in between.
 */
export function leaseHierarchy(
  prepare: (base: string) => Promise<string>,
): Promise<HierarchyLease> {
  return withFileLock(LEASE_LOCK, LOCK_TIMEOUT_MS, async () => {
    const base = mkdtempSync(TEST_MOUNT_PREFIX);
    let hierarchy: string;
    try {
      hierarchy = await prepare(base);
    } finally {
      removeUnmountedBases();
    }
    mkdirSync(LEASES, { recursive: true });
    const lease = join(LEASES, `${process.pid}-${randomBytes(4).toString('hex')}`);
    writeFileSync(lease, hierarchy);
    return {
      hierarchy,
      testMount: testMountBase(hierarchy) !== undefined,
      release: () => releaseLease(lease, hierarchy),
    };
  });
}

function releaseLease(lease: string, hierarchy: string): Promise<void> {
  return withFileLock(LEASE_LOCK, LOCK_TIMEOUT_MS, async () => {
    rmSync(lease, { force: true });
    const others = readdirSync(LEASES).filter((name) => {
      const file = join(LEASES, name);
      if (!isAlive(Number(name.split('-')[0]))) {
        rmSync(file, { force: true });
        return false;
      }
      return readFileSync(file, 'utf8') === hierarchy;
    });
    if (others.length === 0 && testMountBase(hierarchy) !== undefined) {
      await unmountHierarchy(hierarchy);
    }
    if (readdirSync(LEASES).length === 0) rmdirSync(LEASES);
    removeUnmountedBases();
  });
}

/** Removes test base directories (this run's or a crashed run's) that hold no mount any more. */
function removeUnmountedBases(): void {
  const mounted = readMounts().map((entry) => entry.target);
  const prefix = TEST_MOUNT_PREFIX.slice(tmpdir().length + 1);
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const base = join(tmpdir(), name);
    if (mounted.some((target) => target === base || target.startsWith(`${base}/`))) continue;
    rmSync(base, { recursive: true, force: true });
  }
}
