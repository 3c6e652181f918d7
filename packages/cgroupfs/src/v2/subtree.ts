import { normalizeCgroup, readControl, writeControl } from '../cgroup.ts';

/**
 * Enables `controllers` for the children of every level from the v2 hierarchy's root down to
 * `cgroup` (inclusive), so that cgroups created under `cgroup` have their control files. A level
 * that has them already is not written. The kernel refuses this for a level that holds
 * processes (other than the root): `cgroup` should be a parent such as `--cgroups_root`.
 */
export function enableSubtreeControllers(
  unified: string,
  cgroup: string,
  controllers: readonly string[],
): void {
  const levels = normalizeCgroup(cgroup).split('/').filter(Boolean);
  for (let depth = 0; depth <= levels.length; depth++) {
    const level = levels.slice(0, depth).join('/');
    const enabled = new Set(readControl(unified, level, 'cgroup.subtree_control').split(/\s+/));
    const missing = controllers.filter((controller) => !enabled.has(controller));
    if (missing.length === 0) continue;
    writeControl(unified, level, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
  }
}
