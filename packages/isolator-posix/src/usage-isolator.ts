import {
  type ContainerID,
  type ContainerState,
  containerIdToString,
  type Isolator,
  type ResourceStatistics,
  UnknownContainerError,
} from '@corral/core';
import { type ContainerSample, UsageSampler } from './sampler.ts';

/** Turns a sample of a container into its statistics. */
export type UsageReport = (sample: ContainerSample) => ResourceStatistics;

/** posix/cpu and posix/mem share it, so one `/containers` request scans /proc at most once. */
const sharedSampler = new UsageSampler();

/**
 * An isolator that isolates nothing and reports usage of the container's processes (Mesos'
 * posix/cpu and posix/mem). It only remembers each container's init pid; `sampler` finds the
 * processes.
 */
export function createUsageIsolator(
  report: UsageReport,
  sampler: UsageSampler = sharedSampler,
): Isolator {
  const pids = new Map<string, number>();
  return {
    recover(states: readonly ContainerState[]) {
      for (const state of states) pids.set(containerIdToString(state.container_id), state.pid);
    },
    isolate(id: ContainerID, pid: number) {
      pids.set(containerIdToString(id), pid);
    },
    usage(id: ContainerID) {
      const key = containerIdToString(id);
      const pid = pids.get(key);
      if (pid === undefined) throw new UnknownContainerError(key);
      return sampler.sample(key, pid).then((sample) => ({
        processes: sample.processes,
        threads: sample.threads,
        ...report(sample),
      }));
    },
    cleanup(id: ContainerID) {
      const key = containerIdToString(id);
      pids.delete(key);
      sampler.forget(key);
    },
  };
}
