import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupPath, writeControl } from '../cgroup.ts';

/**
 * True when `cgroup` has `cgroup.kill` (cgroup v2, Linux ≥ 5.14). The root cgroup never has it,
 * so ask about the cgroup you mean to kill.
 */
export function supportsCgroupKill(hierarchy: string, cgroup: string): boolean {
  return existsSync(join(cgroupPath(hierarchy, cgroup), 'cgroup.kill'));
}

/**
 * SIGKILLs every process in `cgroup` and its descendants in one step. The kernel also kills
 * processes forked while the kill is under way, so none escapes. Returns before the processes are
 * gone: wait for `cgroup.events` to read `populated 0` (see `killCgroupProcesses`).
 */
export function writeCgroupKill(hierarchy: string, cgroup: string): void {
  writeControl(hierarchy, cgroup, 'cgroup.kill', '1');
}
