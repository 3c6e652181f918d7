import type { ContainerID } from './container-id.ts';

export interface IpAddress {
  readonly protocol?: 'IPv4' | 'IPv6';
  readonly ip_address?: string;
}

export interface NetworkInfo {
  readonly ip_addresses?: readonly IpAddress[];
  readonly name?: string;
  readonly groups?: readonly string[];
}

export interface CgroupInfo {
  readonly net_cls?: {
    /** `0xAAAABBBB` as a decimal uint32 in JSON. */
    readonly classid?: number;
  };
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
}
