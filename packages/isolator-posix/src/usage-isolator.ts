import {
  type ContainerID,
  type ContainerState,
  containerIdToString,
  type Isolator,
  type ResourceStatistics,
  UnknownContainerError,
} from '@corral/core';
import { type ProcessTable, type ProcStat, processTree, readProcessTable } from '@corral/procfs';

/** Turns the samples of a container's processes into its statistics. */
export type UsageReport = (processes: readonly ProcStat[]) => ResourceStatistics;

/**
 * How long one scan of /proc serves usage calls. `/containers` asks every container in a burst:
 * sharing one scan keeps that O(processes) instead of O(containers × processes).
 */
const TABLE_TTL_MS = 100;

/**
 * An isolator that isolates nothing and reports usage of the container's process tree from
 * /proc (Mesos' posix/cpu and posix/mem). It only remembers each container's init pid.
 */
export function createUsageIsolator(report: UsageReport, procRoot = '/proc'): Isolator {
  const pids = new Map<string, number>();
  let table: { readonly at: number; readonly value: ProcessTable } | undefined;
  const currentTable = (): ProcessTable => {
    const now = performance.now();
    if (!table || now - table.at > TABLE_TTL_MS)
      table = { at: now, value: readProcessTable(procRoot) };
    return table.value;
  };
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
      const processes = processTree(pid, currentTable());
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
