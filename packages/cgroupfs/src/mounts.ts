import { readFileSync } from 'node:fs';
import { CgroupError, errnoOf } from './errors.ts';

/** One line of /proc/self/mounts, with the kernel's octal escapes decoded. */
export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly type: string;
  readonly options: readonly string[];
}

// The kernel writes space, tab, newline and backslash in paths as `\040`, `\011`, `\012`, `\134`.
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** Parses the text of a mounts file (`source target type options dump pass` per line). */
export function parseMounts(text: string, file = '/proc/self/mounts'): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [source, target, type, options] = line.split(' ');
    if (source === undefined || target === undefined || type === undefined || !options) {
      throw new CgroupError('parse', file, {
        detail: `malformed line ${JSON.stringify(line)}; expected 'source target type options'`,
      });
    }
    entries.push({
      source: unescapeMountField(source),
      target: unescapeMountField(target),
      type: unescapeMountField(type),
      options: unescapeMountField(options).split(','),
    });
  }
  return entries;
}

/** The mount table of this process's mount namespace. */
export function readMounts(file = '/proc/self/mounts'): MountEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CgroupError('read', file, { errno: errnoOf(error), cause: error });
  }
  return parseMounts(text, file);
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(`${dir}/`);
}

/**
 * The mounts that can be reached by path: a later mount on the same directory or on one of its
 * ancestors hides an earlier one (as Mesos does: later mounts of the same dir shadow earlier ones).
 */
export function visibleMounts(mounts: readonly MountEntry[]): MountEntry[] {
  return mounts.filter(
    (entry, index) => !mounts.slice(index + 1).some((later) => isUnder(entry.target, later.target)),
  );
}

/**
 * The mount point of the v1 hierarchy that `subsystem` (`net_cls`, or a named hierarchy such as
 * `name=systemd`) is attached to, or undefined when it is not mounted here.
 */
export function findV1Hierarchy(
  subsystem: string,
  mounts: readonly MountEntry[] = readMounts(),
): string | undefined {
  return visibleMounts(mounts).find(
    (entry) => entry.type === 'cgroup' && entry.options.includes(subsystem),
  )?.target;
}

/** The mount point of the cgroup v2 (unified) hierarchy, or undefined when none is mounted. */
export function findCgroup2Mount(mounts: readonly MountEntry[] = readMounts()): string | undefined {
  return visibleMounts(mounts).find((entry) => entry.type === 'cgroup2')?.target;
}
