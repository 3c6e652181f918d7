import type { ContainerStatus, ResourceStatistics } from '@corral/core';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Merges isolators' status parts like protobuf merge: repeated `network_infos` concatenate,
 * `cgroup_info` merges per controller, scalar fields take the last value given.
 */
export function mergeStatuses(parts: readonly ContainerStatus[]): ContainerStatus {
  const merged: Mutable<ContainerStatus> = {};
  for (const part of parts) {
    if (part.network_infos?.length) {
      merged.network_infos = [...(merged.network_infos ?? []), ...part.network_infos];
    }
    if (part.cgroup_info) merged.cgroup_info = { ...merged.cgroup_info, ...part.cgroup_info };
    if (part.executor_pid !== undefined) merged.executor_pid = part.executor_pid;
    if (part.container_id !== undefined) merged.container_id = part.container_id;
    if (part.privileges !== undefined) merged.privileges = part.privileges;
  }
  return merged;
}

/** Statistics are flat scalars: the last isolator to report a field wins. */
export function mergeStatistics(parts: readonly ResourceStatistics[]): ResourceStatistics {
  return Object.assign({}, ...parts);
}
