import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

/** One line of /proc/<pid>/mountinfo (proc(5)), the fields this package needs. */
export interface MountEntry {
  /** `major:minor` of the mounted filesystem: identifies one tmpfs instance. */
  readonly device: string;
  readonly mountPoint: string;
  /** Per-mount options, e.g. `rw,nosuid,nodev,relatime`. */
  readonly mountOptions: string;
  readonly fsType: string;
  readonly source: string;
  /** Per-superblock options, e.g. `rw,size=1024k,mode=1777`. */
  readonly superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as three octal digits. */
function decodeOctalEscapes(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** Parses mountinfo text; malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    // Optional fields (shared:N, master:N, …) sit between field 6 and the '-' separator.
    const separator = fields.indexOf('-', 6);
    if (separator < 0) continue;
    const [, , device, , mountPoint, mountOptions] = fields;
    const [fsType, source, superOptions = ''] = fields.slice(separator + 1);
    if (!device || !mountPoint || !mountOptions || !fsType || source === undefined) continue;
    entries.push({
      device,
      mountPoint: decodeOctalEscapes(mountPoint),
      mountOptions,
      fsType,
      source: decodeOctalEscapes(source),
      superOptions,
    });
  }
  return entries;
}

/** The mounts of `pid`'s mount namespace (default: the agent's own). */
export function readMountTable(pid: number | 'self' = 'self'): MountEntry[] {
  return parseMountInfo(readFileSync(`/proc/${pid}/mountinfo`, 'utf8'));
}

/** Mounts at `dir` or below it, in mount order (stacked and nested mounts come later). */
export function mountsAtOrUnder(entries: readonly MountEntry[], dir: string): MountEntry[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return entries.filter((entry) => entry.mountPoint === dir || entry.mountPoint.startsWith(prefix));
}

const run = promisify(execFile);

/**
 * Unmounts everything at or below `dir` in the agent's mount namespace, last mounted first, and
 * checks that nothing is left; returns how many mounts it removed. Node has no umount(2), so this runs umount(8): fine for a path
 * that is only taken when something is actually mounted.
 */
export async function unmountAll(dir: string): Promise<number> {
  const mounted = mountsAtOrUnder(readMountTable(), dir);
  for (const entry of mounted.reverse()) {
    try {
      await run('umount', [entry.mountPoint]);
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
      throw new Error(`Failed to unmount '${entry.mountPoint}': ${detail}`, { cause: error });
    }
  }
  const left = mountsAtOrUnder(readMountTable(), dir);
  if (left.length > 0) {
    throw new Error(
      `Mounts are left under '${dir}' after unmounting: ${left.map((e) => e.mountPoint).join(', ')}`,
    );
  }
  return mounted.length;
}
