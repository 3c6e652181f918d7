import type { ContainerID } from './container-id.ts';
import type { NetworkInfo } from './container-status.ts';

/**
 * The per-container input to `Isolator.prepare`. Field names are the Mesos JSON names (snake_case)
 * so API bodies map onto these types without a translation layer.
 */

export interface EnvironmentVariable {
  readonly name: string;
  readonly value: string;
}

export interface Environment {
  readonly variables: readonly EnvironmentVariable[];
}

/**
 * What to run. `shell` (default true) runs `value` with `/bin/sh -c`; otherwise `value` is the
 * executable (looked up in PATH) and `arguments` is the full argv, `arguments[0]` included.
 */
export interface CommandInfo {
  readonly shell?: boolean;
  readonly value?: string;
  readonly arguments?: readonly string[];
  readonly environment?: Environment;
  readonly user?: string;
}

export type IpcMode = 'UNKNOWN' | 'PRIVATE' | 'SHARE_PARENT';

/** Capability names as Mesos writes them (`NET_RAW`, without `CAP_`). */
export interface CapabilityRequest {
  readonly capabilities: readonly string[];
}

export interface LinuxInfo {
  /** Deprecated Mesos name of `effective_capabilities`. */
  readonly capability_info?: CapabilityRequest;
  readonly effective_capabilities?: CapabilityRequest;
  readonly bounding_capabilities?: CapabilityRequest;
  readonly share_pid_namespace?: boolean;
  /** Absent means the isolator's default (PRIVATE for a top-level container). */
  readonly ipc_mode?: IpcMode;
  /** Size of the private /dev/shm in MB (PRIVATE ipc mode only). */
  readonly shm_size?: number;
  readonly share_cgroups?: boolean;
  /**
   * Corral's addition: `false` opts this container out of no_new_privs, which the engine sets by
   * default; only when the agent allows it (`--no_new_privileges=optional`).
   */
  readonly no_new_privileges?: boolean;
}

/** RLMT_* names of `mesos.RLimitInfo.RLimit.Type`. */
export type RLimitType =
  | 'RLMT_AS'
  | 'RLMT_CORE'
  | 'RLMT_CPU'
  | 'RLMT_DATA'
  | 'RLMT_FSIZE'
  | 'RLMT_LOCKS'
  | 'RLMT_MEMLOCK'
  | 'RLMT_MSGQUEUE'
  | 'RLMT_NICE'
  | 'RLMT_NOFILE'
  | 'RLMT_NPROC'
  | 'RLMT_RSS'
  | 'RLMT_RTPRIO'
  | 'RLMT_RTTIME'
  | 'RLMT_SIGPENDING'
  | 'RLMT_STACK';

/** Both limits or neither (neither means unlimited). */
export interface RLimit {
  readonly type: RLimitType;
  readonly soft?: number;
  readonly hard?: number;
}

export interface RLimitInfo {
  readonly rlimits: readonly RLimit[];
}

/** A key/value list, Mesos' `Parameters`. */
export interface Parameters {
  readonly parameter?: readonly { readonly key: string; readonly value: string }[];
}

/** Mesos' `Volume` (only Docker-volume sources have an isolator in Corral). */
export interface Volume {
  readonly mode: 'RW' | 'RO';
  readonly container_path: string;
  readonly host_path?: string;
  readonly source?: {
    readonly type: 'DOCKER_VOLUME' | 'HOST_PATH' | 'SANDBOX_PATH' | 'SECRET' | 'CSI_VOLUME';
    readonly docker_volume?: {
      readonly driver?: string;
      readonly name: string;
      readonly driver_options?: Parameters;
    };
  };
}

export interface ContainerInfo {
  /** Only MESOS containers exist in Corral; kept for API compatibility. */
  readonly type?: 'MESOS';
  readonly hostname?: string;
  readonly volumes?: readonly Volume[];
  readonly network_infos?: readonly NetworkInfo[];
  readonly linux_info?: LinuxInfo;
  readonly rlimit_info?: RLimitInfo;
}

export interface ScalarValue {
  readonly value: number;
}

export interface Resource {
  readonly name: string;
  readonly type: 'SCALAR' | 'RANGES' | 'SET';
  readonly scalar?: ScalarValue;
}

export interface ContainerConfig {
  readonly command_info: CommandInfo;
  readonly container_info?: ContainerInfo;
  readonly resources?: readonly Resource[];
  readonly limits?: Readonly<Record<string, ScalarValue>>;
  /** The sandbox on the host: the command's working directory. */
  readonly directory: string;
  /**
   * `<runtime_dir>/containers/<id>`: per-container runtime state. Isolators may keep files and
   * mount points here (the IPC isolator mounts the private /dev/shm under it); it is removed
   * after every isolator's cleanup.
   */
  readonly runtime_directory: string;
  readonly user?: string;
}

/** What `recover` gets for each container that survived an agent restart. */
export interface ContainerState {
  readonly container_id: ContainerID;
  /** Pid of the container's init (the launcher helper). */
  readonly pid: number;
  readonly directory: string;
  readonly runtime_directory: string;
  /** The checkpointed config, so isolators can recover per-container options. */
  readonly config?: ContainerConfig;
}
