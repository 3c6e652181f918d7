import type { EnvironmentVariable, RLimit } from './container-config.ts';

/** Namespaces the launcher can create (`clone_namespaces`) or join (`enter_namespaces`). */
export type Namespace = 'ipc' | 'mnt' | 'net' | 'pid' | 'uts' | 'cgroup';

export const NAMESPACES: readonly Namespace[] = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'];

/** mount(2) flags by their mount(8) option names. */
export type MountFlag =
  | 'rdonly'
  | 'nosuid'
  | 'nodev'
  | 'noexec'
  | 'bind'
  | 'rec'
  | 'private'
  | 'slave'
  | 'shared';

/** One mount made inside the container's mount namespace, in order, before exec. */
export interface ContainerMountInfo {
  readonly target: string;
  readonly source?: string;
  /** Filesystem type (`tmpfs`, …); absent for bind mounts. */
  readonly type?: string;
  readonly flags?: readonly MountFlag[];
  /** Filesystem data, e.g. `mode=1777,size=67108864`. */
  readonly options?: string;
}

export type Capability = `CAP_${Uppercase<string>}`;

export interface CapabilityInfo {
  readonly capabilities: readonly Capability[];
}

/**
 * What an isolator's `prepare` returns, and what the engine merges (in isolator order) into the
 * single launch info the launcher applies. Merge rules (enforced by the engine): repeated fields
 * are concatenated, namespaces become sets, and two isolators setting one of `working_directory`,
 * `rlimits`, `effective_capabilities`, `bounding_capabilities` or `hostname` is a conflict that
 * fails the launch.
 */
export interface ContainerLaunchInfo {
  readonly environment?: { readonly variables: readonly EnvironmentVariable[] };
  readonly clone_namespaces?: readonly Namespace[];
  readonly enter_namespaces?: readonly Namespace[];
  readonly mounts?: readonly ContainerMountInfo[];
  readonly rlimits?: readonly RLimit[];
  readonly effective_capabilities?: CapabilityInfo;
  readonly bounding_capabilities?: CapabilityInfo;
  readonly working_directory?: string;
  /**
   * The hostname inside the container's UTS namespace when the launch asks for none
   * (`container.hostname` wins), e.g. one derived from the container id by a network isolator.
   */
  readonly hostname?: string;
  readonly supplementary_groups?: readonly number[];
  readonly no_new_privileges?: boolean;
}
