import {
  type ContainerID,
  type ContainerState,
  containerIdToString,
  type Isolator,
  type ResourceStatistics,
  UnknownContainerError,
} from '@corral/core';
import { type ProcStat, processTree } from '@corral/procfs';

/** Turns the samples of a container's processes into its statistics. */
export type UsageReport = (processes: readonly ProcStat[]) => ResourceStatistics;

/**
 * An isolator that isolates nothing and reports usage of the container's process tree from
 * /proc (Mesos' posix/cpu and posix/mem). It only remembers each container's init pid.
 */
export function createUsageIsolator(report: UsageReport, procRoot = '/proc'): Isolator {
  const pids = new Map<string, number>();
  return {
    recover(states: readonly ContainerState[]) {
      for (const state of states) pids.set(containerIdToString(state.container_id), state.pid);
    },
    isolate(id: ContainerID, pid: number) {
      pids.set(containerIdToString(id), pid);
    },
    usage(id: ContainerID) {
      const pid = pids.get(containerIdToString(id));
      if (pid === undefined) throw new UnknownContainerError(containerIdToString(id));
      const processes = processTree(pid, procRoot);
      return {
        processes: processes.length,
        threads: processes.reduce((sum, sample) => sum + sample.threads, 0),
        ...report(processes),
      };
    },
    cleanup(id: ContainerID) {
      pids.delete(containerIdToString(id));
    },
  };
}
