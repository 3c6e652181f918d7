import type { ContainerLaunchInfo, Namespace } from '@corral/core';
import { LaunchInfoConflictError } from './errors.ts';

export interface IsolatorLaunchInfo {
  readonly isolator: string;
  readonly info: ContainerLaunchInfo;
}

/** Fields only one isolator may set (Mesos §1.4: "Multiple isolators specify …"). */
const EXCLUSIVE_FIELDS = [
  'working_directory',
  'rlimits',
  'effective_capabilities',
  'bounding_capabilities',
  'hostname',
] as const satisfies readonly (keyof ContainerLaunchInfo)[];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function union<T>(first: readonly T[] | undefined, second: readonly T[] | undefined): T[] {
  return [...new Set([...(first ?? []), ...(second ?? [])])].sort();
}

/**
 * Merges the isolators' launch infos in isolator order: repeated fields are concatenated,
 * namespaces and groups become sorted sets, `no_new_privileges` is sticky, and an exclusive field
 * set twice fails with an error naming both isolators.
 */
export function mergeLaunchInfos(parts: readonly IsolatorLaunchInfo[]): ContainerLaunchInfo {
  const merged: Mutable<ContainerLaunchInfo> = {};
  const setBy = new Map<string, string>();
  for (const { isolator, info } of parts) {
    for (const field of EXCLUSIVE_FIELDS) {
      if (info[field] === undefined) continue;
      const first = setBy.get(field);
      if (first !== undefined) throw new LaunchInfoConflictError(field, first, isolator);
      setBy.set(field, isolator);
      Object.assign(merged, { [field]: info[field] });
    }
    if (info.environment) {
      merged.environment = {
        variables: [...(merged.environment?.variables ?? []), ...info.environment.variables],
      };
    }
    if (info.mounts) merged.mounts = [...(merged.mounts ?? []), ...info.mounts];
    if (info.clone_namespaces) {
      merged.clone_namespaces = union<Namespace>(merged.clone_namespaces, info.clone_namespaces);
    }
    if (info.enter_namespaces) {
      merged.enter_namespaces = union<Namespace>(merged.enter_namespaces, info.enter_namespaces);
    }
    if (info.supplementary_groups) {
      merged.supplementary_groups = union(merged.supplementary_groups, info.supplementary_groups);
    }
    if (info.no_new_privileges) merged.no_new_privileges = true;
  }
  return merged;
}
