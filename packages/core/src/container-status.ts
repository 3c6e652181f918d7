import type { ContainerID } from './container-id.ts';

export interface IpAddress {
  readonly protocol?: 'IPv4' | 'IPv6';
  readonly ip_address?: string;
}

/** A host port forwarded to a container port (Mesos' `NetworkInfo.PortMapping`). */
export interface PortMapping {
  readonly host_port: number;
  readonly container_port: number;
  /** `tcp` (the default) or `udp`. */
  readonly protocol?: string;
}

export interface Label {
  readonly key: string;
  readonly value?: string;
}

/** A network a container asks to join (`container.network_infos[]`) or is attached to (status). */
export interface NetworkInfo {
  readonly ip_addresses?: readonly IpAddress[];
  readonly name?: string;
  readonly groups?: readonly string[];
  readonly labels?: { readonly labels?: readonly Label[] };
  readonly port_mappings?: readonly PortMapping[];
}

export interface CgroupInfo {
  readonly net_cls?: {
    /** `0xAAAABBBB` as a decimal uint32 in JSON. */
    readonly classid?: number;
  };
}

/**
 * What a container's command runs with, as the engine applied it (Corral's addition: Mesos
 * reports none of it). Capability names are Mesos' (`NET_RAW`).
 */
export interface ContainerPrivileges {
  /** The user's name; without `command.user`, the agent's own user. */
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups. */
  readonly groups: readonly number[];
  /** Absent: none applied (root then gets its bounding set at exec, other users nothing). */
  readonly effective_capabilities?: readonly string[];
  /** Absent: none applied (the agent's own bounding set). */
  readonly bounding_capabilities?: readonly string[];
  readonly no_new_privileges: boolean;
}

/**
 * A container's status as isolators report it; the engine merges every isolator's part and adds
 * `container_id` and `executor_pid`.
 */
export interface ContainerStatus {
  readonly container_id?: ContainerID;
  readonly executor_pid?: number;
  readonly network_infos?: readonly NetworkInfo[];
  readonly cgroup_info?: CgroupInfo;
  /** Set by the engine, not by isolators. */
  readonly privileges?: ContainerPrivileges;
}
