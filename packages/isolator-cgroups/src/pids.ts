import type { PidsController } from '@corral/cgroupfs';
import type { ResourceStatistics } from '@corral/core';
import type { ControllerPolicy } from './cgroup-isolator.ts';

/** `pids.max`; undefined is no limit. */
export interface PidsLimit {
  readonly max: number | undefined;
}

/**
 * `cgroups/pids`: `pids.max` from `--cgroups_pids_max` for every container (Mesos has no
 * per-container field for it), and the task count as `threads` (the kernel counts threads).
 */
export function pidsPolicy(
  controller: PidsController,
  max: number | undefined,
): ControllerPolicy<PidsLimit> {
  return {
    version: controller.version,
    hierarchies: controller.hierarchies,
    settings: () => ({ max }),
    apply: (cgroup, limit) => controller.write(cgroup, limit.max),
    recovered: (cgroup) => ({ max: controller.read(cgroup) }),
    usage: (cgroup): ResourceStatistics => ({ threads: controller.current(cgroup) }),
  };
}
