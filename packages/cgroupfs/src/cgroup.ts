import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  write,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { CgroupError, errnoOf } from './errors.ts';

/**
 * The components of a cgroup path relative to its hierarchy. A leading `/` is allowed (it is how
 * /proc/<pid>/cgroup writes paths) and means the hierarchy root, as do '' and '/'. Container ids
 * end up in these paths, so `..` and `.` components, NUL bytes and non-strings are refused:
 * nothing may resolve outside the hierarchy.
 */
function cgroupComponents(cgroup: string): string[] {
  if (typeof cgroup !== 'string') {
    throw new CgroupError('resolve', String(cgroup), { detail: 'a cgroup path must be a string' });
  }
  const components = cgroup.split('/').filter((component) => component !== '');
  if (cgroup.includes('\0') || components.some((c) => c === '..' || c === '.')) {
    throw new CgroupError('resolve', cgroup, {
      detail: "invalid cgroup path: '.' and '..' components and NUL bytes are not allowed",
    });
  }
  return components;
}

/** `cgroup` in the form this package returns: no leading, trailing or doubled `/`; '' is the root. */
export function normalizeCgroup(cgroup: string): string {
  return cgroupComponents(cgroup).join('/');
}

/** The absolute path of `cgroup` inside the hierarchy mounted at `hierarchy`. */
export function cgroupPath(hierarchy: string, cgroup: string): string {
  if (typeof hierarchy !== 'string' || !isAbsolute(hierarchy)) {
    throw new CgroupError('resolve', String(hierarchy), {
      detail: 'a hierarchy must be the absolute path of a cgroup mount',
    });
  }
  return join(hierarchy, ...cgroupComponents(cgroup));
}

function controlPath(hierarchy: string, cgroup: string, file: string): string {
  if (file === '' || file.includes('/') || file.includes('\0') || file === '.' || file === '..') {
    throw new CgroupError('resolve', file, {
      detail: 'a control file must be a plain file name such as cgroup.procs',
    });
  }
  return join(cgroupPath(hierarchy, cgroup), file);
}

/** True when `cgroup` exists (as a directory) in `hierarchy`. */
export function cgroupExists(hierarchy: string, cgroup: string): boolean {
  try {
    return statSync(cgroupPath(hierarchy, cgroup)).isDirectory();
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Creates `cgroup` and any missing ancestors; succeeds when it already exists. Returns true when
 * this call created `cgroup` itself, false when it was there already: a caller that needs a fresh
 * cgroup tests that instead of checking first (one syscall less, and no race). In a v1 cpuset
 * hierarchy a new cgroup starts with empty `cpuset.cpus`/`cpuset.mems` and refuses every process,
 * so, like Mesos, each new level copies them from its parent.
 */
export function createCgroup(hierarchy: string, cgroup: string): boolean {
  let path = cgroupPath(hierarchy, '');
  let created = false;
  for (const component of cgroupComponents(cgroup)) {
    const parent = path;
    path = join(path, component);
    try {
      mkdirSync(path);
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') {
        throw new CgroupError('mkdir', path, { errno: errnoOf(error), cause: error });
      }
      created = false;
      continue;
    }
    created = true;
    if (isV1CpusetHierarchy(hierarchy)) inheritCpuset(parent, path);
  }
  return created;
}

/** Per hierarchy path, whether it is a v1 cpuset hierarchy: asked on every launch, so kept. */
const v1Cpuset = new Map<string, boolean>();

/** Call once the hierarchy is known to exist (a cgroup was just made in it). */
function isV1CpusetHierarchy(hierarchy: string): boolean {
  let known = v1Cpuset.get(hierarchy);
  if (known === undefined) {
    // A v2 root has no cpuset.cpus (only .effective), and v1 roots have no cgroup.controllers.
    const root = cgroupPath(hierarchy, '');
    known = existsSync(join(root, 'cpuset.cpus')) && !existsSync(join(root, 'cgroup.controllers'));
    v1Cpuset.set(hierarchy, known);
  }
  return known;
}

function inheritCpuset(parent: string, child: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const target = join(child, file);
    try {
      if (readFileSync(target, 'utf8').trim() !== '') continue;
      writeFileSync(target, readFileSync(join(parent, file), 'utf8').trim());
    } catch (error) {
      throw new CgroupError('write', target, {
        errno: errnoOf(error),
        detail: `copying ${file} from the parent cgroup`,
        cause: error,
      });
    }
  }
}

/**
 * Removes `cgroup` with one rmdir; succeeds when it does not exist. The kernel refuses (EBUSY)
 * while the cgroup has processes or child cgroups: see `destroyCgroup` for the whole job.
 */
export function removeCgroup(hierarchy: string, cgroup: string): void {
  const path = cgroupPath(hierarchy, cgroup);
  try {
    rmdirSync(path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return;
    throw new CgroupError('rmdir', path, { errno: errnoOf(error), cause: error });
  }
}

export interface ListChildCgroupsOptions {
  /** Include every descendant, depth-first. Default false: direct children only. */
  readonly recursive?: boolean;
  /** With `recursive`, list children before their parents (the order for removal). */
  readonly bottomUp?: boolean;
}

/**
 * The child cgroups of `cgroup`, as paths relative to the hierarchy root (so they can be passed
 * back to this package), sorted by name at each level. Descendants that vanish while the tree is
 * walked are left out; a missing `cgroup` itself is an error.
 */
export function listChildCgroups(
  hierarchy: string,
  cgroup: string,
  options: ListChildCgroupsOptions = {},
): string[] {
  const start = normalizeCgroup(cgroup);
  const result: string[] = [];
  const visit = (current: string, isStart: boolean): void => {
    const path = cgroupPath(hierarchy, current);
    let names: string[];
    try {
      names = readdirSync(path, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort();
    } catch (error) {
      if (!isStart && errnoOf(error) === 'ENOENT') return;
      throw new CgroupError('readdir', path, { errno: errnoOf(error), cause: error });
    }
    for (const name of names) {
      const child = current === '' ? name : `${current}/${name}`;
      if (!options.recursive) {
        result.push(child);
        continue;
      }
      if (!options.bottomUp) result.push(child);
      visit(child, false);
      if (options.bottomUp) result.push(child);
    }
  };
  visit(start, true);
  return result;
}

/**
 * The content of a control file, exactly as the kernel returned it (usually with a trailing
 * newline).
 */
export function readControl(hierarchy: string, cgroup: string, file: string): string {
  const path = controlPath(hierarchy, cgroup, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CgroupError('read', path, { errno: errnoOf(error), cause: error });
  }
}

function writeFailure(path: string, value: string, error: unknown): CgroupError {
  return new CgroupError('write', path, {
    errno: errnoOf(error),
    detail: `writing ${JSON.stringify(value)}`,
    cause: error,
  });
}

/** Writes `value` to a control file in one write(2), which is what the kernel parses. */
export function writeControl(hierarchy: string, cgroup: string, file: string, value: string): void {
  const path = controlPath(hierarchy, cgroup, file);
  try {
    writeFileSync(path, value);
  } catch (error) {
    throw writeFailure(path, value, error);
  }
}

function pidText(hierarchy: string, cgroup: string, pid: number): string {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new CgroupError('assign', cgroupPath(hierarchy, cgroup), {
      detail: `${pid} is not a process id`,
    });
  }
  return String(pid);
}

/** Moves process `pid` (all its threads) into `cgroup` by writing `cgroup.procs`. */
export function assignProcess(hierarchy: string, cgroup: string, pid: number): void {
  writeControl(hierarchy, cgroup, 'cgroup.procs', pidText(hierarchy, cgroup, pid));
}

/**
 * `assignProcess` with the write done in libuv's threadpool. A migration takes the kernel's
 * global cgroup threadgroup lock, which waits for an RCU grace period when no other migration
 * happened just before (measured here: ~0.8 ms, against 13 µs back to back); on a launch path
 * that wait must not hold the event loop. Only the write waits, so the open and close of the
 * control file stay synchronous: one threadpool round trip instead of three.
 */
export async function assignProcessAsync(
  hierarchy: string,
  cgroup: string,
  pid: number,
): Promise<void> {
  const value = pidText(hierarchy, cgroup, pid);
  const path = controlPath(hierarchy, cgroup, 'cgroup.procs');
  try {
    const fd = openSync(path, 'w');
    try {
      await new Promise<void>((resolve, reject) =>
        write(fd, value, (error) => (error ? reject(error) : resolve())),
      );
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw writeFailure(path, value, error);
  }
}

/** The processes (thread-group ids) directly in `cgroup`, not in its descendants. */
export function listProcesses(hierarchy: string, cgroup: string): number[] {
  return parsePids(readControl(hierarchy, cgroup, 'cgroup.procs'));
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
}

/** One line of /proc/<pid>/cgroup. */
export interface ProcessCgroup {
  /** The v1 hierarchy id (as in /proc/cgroups); 0 for the v2 hierarchy. */
  readonly hierarchyId: number;
  /** The subsystems of a v1 hierarchy (`['cpu']`, `['name=systemd']`); [] for v2. */
  readonly controllers: readonly string[];
  /** The cgroup, absolute within its hierarchy (`/corral/abc`). */
  readonly path: string;
}

/** Parses the text of /proc/<pid>/cgroup (`id:controllers:path` per line). */
export function parseProcessCgroups(text: string, file = '/proc/self/cgroup'): ProcessCgroup[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      // The path may itself contain ':', so only the first two separate fields.
      const first = line.indexOf(':');
      const second = line.indexOf(':', first + 1);
      const id = line.slice(0, first);
      if (first < 0 || second < 0 || !/^\d+$/.test(id)) {
        throw new CgroupError('parse', file, {
          detail: `malformed line ${JSON.stringify(line)}; expected 'id:controllers:path'`,
        });
      }
      return {
        hierarchyId: Number(id),
        controllers: line
          .slice(first + 1, second)
          .split(',')
          .filter((controller) => controller !== ''),
        path: line.slice(second + 1),
      };
    });
}

/** The cgroups of process `pid` in every hierarchy, from /proc/<pid>/cgroup. */
export function processCgroups(pid: number | 'self'): ProcessCgroup[] {
  if (pid !== 'self' && (!Number.isSafeInteger(pid) || pid <= 0)) {
    throw new CgroupError('read', `/proc/${pid}/cgroup`, { detail: `${pid} is not a process id` });
  }
  const file = `/proc/${pid}/cgroup`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CgroupError('read', file, { errno: errnoOf(error), cause: error });
  }
  return parseProcessCgroups(text, file);
}
