import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CgroupMountError, errnoOf } from '../errors.ts';
import { withFileLock } from '../lock.ts';
import {
  findCgroup2Mount,
  findV1Hierarchy,
  type MountEntry,
  readMounts,
  visibleMounts,
} from '../mounts.ts';
import { readProcCgroups, type SubsystemInfo } from '../proc-cgroups.ts';

/**
 * One lock for every base directory: two agents (or two test files) that prepare the same
 * subsystem under different bases must still end up on one mount, not one each.
 */
function mountLock(): string {
  return join(existsSync('/run/lock') ? '/run/lock' : tmpdir(), 'corral-cgroupfs.lock');
}
const LOCK_TIMEOUT_MS = 30_000;
const MOUNT_ROUNDS = 3;

/**
 * Subsystems the kernel may refuse to mount alone (EBUSY) because they were once mounted
 * together and are still bound to that hierarchy.
 */
const KNOWN_COMPANIONS: Readonly<Record<string, readonly string[]>> = {
  net_cls: ['net_prio'],
  net_prio: ['net_cls'],
  cpu: ['cpuacct'],
  cpuacct: ['cpu'],
};

function subsystemInfo(subsystem: string, subsystems: readonly SubsystemInfo[]): SubsystemInfo {
  const info = subsystems.find((candidate) => candidate.name === subsystem);
  if (info === undefined) {
    throw new CgroupMountError(
      'unknown_subsystem',
      subsystem,
      `Unknown cgroup subsystem '${subsystem}'; this kernel knows: ` +
        subsystems.map((candidate) => candidate.name).join(', '),
    );
  }
  if (!info.enabled) {
    throw new CgroupMountError(
      'disabled_subsystem',
      subsystem,
      `The cgroup subsystem '${subsystem}' is disabled in this kernel (see /proc/cgroups and the ` +
        `cgroup_disable= boot parameter)`,
    );
  }
  return info;
}

/**
 * The subsystem sets to try mounting, in order: all subsystems already bound to the same
 * hierarchy (the kernel only accepts that exact set); or the subsystem alone, then with its known
 * companions.
 */
export function mountCandidates(
  subsystem: string,
  subsystems: readonly SubsystemInfo[],
): string[][] {
  const info = subsystemInfo(subsystem, subsystems);
  if (info.hierarchy !== 0) {
    return [
      subsystems
        .filter((candidate) => candidate.hierarchy === info.hierarchy && candidate.enabled)
        .map((candidate) => candidate.name),
    ];
  }
  const companions = (KNOWN_COMPANIONS[subsystem] ?? []).filter((name) =>
    subsystems.some((candidate) => candidate.name === name && candidate.enabled),
  );
  return companions.length === 0 ? [[subsystem]] : [[subsystem], [subsystem, ...companions]];
}

function runCommand(command: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    // LC_ALL=C: the message ends up in our error text and should not depend on the locale.
    execFile(command, args, { env: { ...process.env, LC_ALL: 'C' } }, (error, _stdout, stderr) => {
      resolve(error === null ? undefined : stderr.trim() || error.message);
    });
  });
}

/**
 * `path` with symlinks resolved as far as it exists, the form /proc/self/mounts uses, so mount
 * points compare equal (and the path returned is the one `findV1Hierarchy` finds later).
 */
function canonicalPath(path: string): string {
  const missing: string[] = [];
  let existing = path;
  while (!existsSync(existing)) {
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
  return join(realpathSync(existing), ...missing);
}

function isEmptyDirectory(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch (error) {
    if (errnoOf(error) === 'ENOTDIR') return false;
    throw error;
  }
}

/** Names the cgroup v2 hierarchy when it has `subsystem` enabled for its children. */
function v2User(subsystem: string): string {
  const unified = findCgroup2Mount();
  if (unified === undefined) return '';
  try {
    const enabled = readFileSync(join(unified, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    return enabled.includes(subsystem)
      ? ` ('${subsystem}' is in use by the cgroup v2 hierarchy at '${unified}')`
      : '';
  } catch {
    // Only an extra hint for the message; the mount failure itself is reported either way.
    return '';
  }
}

function requireRoot(subsystem: string | undefined, what: string): void {
  if (process.geteuid?.() !== 0) {
    throw new CgroupMountError('not_root', subsystem, `${what} requires root (euid 0)`);
  }
}

function mountAt(target: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  return visibleMounts(mounts).find((entry) => entry.target === target);
}

/** The mount that contains `path` (the visible one with the longest target prefix). */
function mountContaining(path: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  return visibleMounts(mounts)
    .filter(
      (entry) => path === entry.target || path.startsWith(`${entry.target.replace(/\/$/, '')}/`),
    )
    .sort((a, b) => b.target.length - a.target.length)[0];
}

/**
 * Returns the mount point of the v1 hierarchy `subsystem` is attached to. When it is not mounted
 * anywhere, mounts it at `<base>/<subsystem>` (with the subsystems the kernel binds to it) and
 * returns that. Concurrent callers, in this process or others, serialise on a lock file and
 * re-check the mounts once they hold it, so they all end up on one mount.
 *
 * Finding an existing mount needs no privileges; mounting needs root.
 */
export async function prepareV1Hierarchy(base: string, subsystem: string): Promise<string> {
  if (!existsSync('/proc/cgroups')) {
    throw new CgroupMountError(
      'no_cgroups',
      subsystem,
      'No cgroups support detected in this kernel (/proc/cgroups is missing)',
    );
  }
  subsystemInfo(subsystem, readProcCgroups());
  const existing = findV1Hierarchy(subsystem);
  if (existing !== undefined) return existing;

  if (!isAbsolute(base)) {
    throw new CgroupMountError(
      'invalid_target',
      subsystem,
      `The cgroup base directory must be an absolute path, got '${base}'`,
    );
  }
  requireRoot(subsystem, `Mounting the '${subsystem}' cgroup hierarchy`);
  return withFileLock(mountLock(), LOCK_TIMEOUT_MS, async () => {
    const mounts = readMounts();
    const mountedMeanwhile = findV1Hierarchy(subsystem, mounts);
    if (mountedMeanwhile !== undefined) return mountedMeanwhile;
    return mountV1(base, subsystem, mounts);
  });
}

async function mountV1(
  base: string,
  subsystem: string,
  mounts: readonly MountEntry[],
): Promise<string> {
  const target = canonicalPath(join(base, subsystem));
  const occupied = mountAt(target, mounts);
  if (occupied !== undefined) {
    throw new CgroupMountError(
      'invalid_target',
      subsystem,
      `Cannot mount '${subsystem}' at '${target}': a ${occupied.type} filesystem ` +
        `(${occupied.options.join(',')}) is already mounted there`,
    );
  }
  const container = mountContaining(target, mounts);
  if (container?.type === 'cgroup' || container?.type === 'cgroup2') {
    throw new CgroupMountError(
      'invalid_target',
      subsystem,
      `Cannot mount '${subsystem}' at '${target}': it is inside the ${container.type} mount ` +
        `'${container.target}', where a new directory would be a cgroup`,
    );
  }

  let created = false;
  try {
    mkdirSync(dirname(target), { recursive: true });
    mkdirSync(target);
    created = true;
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') {
      throw new CgroupMountError(
        'invalid_target',
        subsystem,
        `Cannot create the mount point '${target}': ${String(error)}`,
        { cause: error },
      );
    }
  }
  if (!created && !isEmptyDirectory(target)) {
    throw new CgroupMountError(
      'invalid_target',
      subsystem,
      `Cannot mount '${subsystem}' at '${target}': it is not an empty directory`,
    );
  }

  const failures: string[] = [];
  // A hierarchy that was just unmounted dies asynchronously and keeps its subsystems bound for a
  // moment, so a failed round is retried with a fresh look at /proc/cgroups.
  for (let round = 0; round < MOUNT_ROUNDS; round++) {
    if (round > 0) await delay(50 * 2 ** round);
    for (const set of mountCandidates(subsystem, readProcCgroups())) {
      const options = set.join(',');
      const failure = await runCommand('mount', ['-t', 'cgroup', '-o', options, 'cgroup', target]);
      if (failure === undefined) return target;
      failures.push(`mount -o ${options}: ${failure}`);
    }
  }
  if (created) rmdirSync(target);
  const bound = readProcCgroups().find((candidate) => candidate.name === subsystem);
  const attached = bound !== undefined && bound.hierarchy !== 0;
  throw new CgroupMountError(
    attached ? 'attached_elsewhere' : 'mount_failed',
    subsystem,
    `Failed to mount the '${subsystem}' cgroup hierarchy at '${target}'` +
      (attached
        ? ` ('${subsystem}' is attached to hierarchy ${bound.hierarchy}, which could not be mounted here)`
        : v2User(subsystem)) +
      `: ${[...new Set(failures)].join('; ')}`,
  );
}

/**
 * Unmounts the cgroup hierarchy mounted at `target` and removes the then-empty mount point
 * directory. Does nothing when nothing is mounted there; refuses a target that holds anything but
 * a cgroup filesystem. Meant for tests and cleanup: cgroups left inside keep a v1 hierarchy alive
 * (and its subsystems bound together) after the unmount.
 */
export async function unmountHierarchy(target: string): Promise<void> {
  requireRoot(undefined, `Unmounting '${target}'`);
  await withFileLock(mountLock(), LOCK_TIMEOUT_MS, async () => {
    const mounted = mountAt(target, readMounts());
    if (mounted === undefined) return;
    if (mounted.type !== 'cgroup' && mounted.type !== 'cgroup2') {
      throw new CgroupMountError(
        'invalid_target',
        undefined,
        `Refusing to unmount '${target}': it is a ${mounted.type} mount, not a cgroup hierarchy`,
      );
    }
    const failure = await runCommand('umount', [target]);
    if (failure !== undefined) {
      throw new CgroupMountError(
        'unmount_failed',
        undefined,
        `Failed to unmount '${target}': ${failure}`,
      );
    }
    if (mountAt(target, readMounts()) === undefined) {
      try {
        rmdirSync(target);
      } catch (error) {
        // Someone else's files in the directory are theirs to keep.
        if (errnoOf(error) !== 'ENOENT' && errnoOf(error) !== 'ENOTEMPTY') throw error;
      }
    }
  });
}
