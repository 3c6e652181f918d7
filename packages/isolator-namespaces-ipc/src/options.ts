import { type ContainerConfig, InvalidContainerConfigError } from '@corral/core';

/** The per-container IPC setting after defaults and validation. */
export type IpcSettings =
  | {
      readonly mode: 'PRIVATE';
      /** Size limit of the private /dev/shm; absent means the kernel's tmpfs default (half the RAM). */
      readonly shmSizeBytes?: number;
    }
  | { readonly mode: 'SHARE_PARENT' };

/** The agent-wide inputs to the per-container decision (from the isolator's flags). */
export interface IpcPolicy {
  /** `--default_container_shm_size` in bytes, for PRIVATE containers without `shm_size`. */
  readonly defaultShmSizeBytes?: number;
  /** `--disallow_sharing_agent_ipc_namespace`. */
  readonly disallowSharingAgentIpcNamespace: boolean;
}

export const IPC_MODE_FIELD = 'container.linux_info.ipc_mode';
export const SHM_SIZE_FIELD = 'container.linux_info.shm_size';

const MODES = ['PRIVATE', 'SHARE_PARENT'] as const;
const MB = 1024 * 1024;

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(JSON.stringify(value));
}

/**
 * Decides a top-level container's IPC setting from `container_info.linux_info` (`ipc_mode`,
 * `shm_size`) and the agent's policy. Throws `InvalidContainerConfigError` naming the field, the
 * value and what is accepted. The values are checked at run time because they arrive as JSON.
 */
export function resolveIpcSettings(config: ContainerConfig, policy: IpcPolicy): IpcSettings {
  const linux = config.container_info?.linux_info;
  const mode: unknown = linux?.ipc_mode ?? 'PRIVATE';
  // JSON null means absent, like a missing field.
  const shmSize: unknown = linux?.shm_size ?? undefined;

  if (!(MODES as readonly unknown[]).includes(mode)) {
    throw new InvalidContainerConfigError(
      IPC_MODE_FIELD,
      `${show(mode)} is not a supported IPC mode; accepted: ${MODES.join(', ')} ` +
        '(omit it for PRIVATE)',
    );
  }
  if (mode === 'SHARE_PARENT') {
    if (shmSize !== undefined) {
      throw new InvalidContainerConfigError(
        SHM_SIZE_FIELD,
        `a /dev/shm size (${show(shmSize)}) is only accepted with ipc_mode PRIVATE; ` +
          'a SHARE_PARENT container uses the host /dev/shm',
      );
    }
    if (policy.disallowSharingAgentIpcNamespace) {
      throw new InvalidContainerConfigError(
        IPC_MODE_FIELD,
        "'SHARE_PARENT' is refused: this agent runs with " +
          '--disallow_sharing_agent_ipc_namespace=true, so a top-level container cannot share ' +
          'its IPC namespace; accepted: PRIVATE (or omit ipc_mode)',
      );
    }
    return { mode };
  }
  if (shmSize === undefined) {
    return policy.defaultShmSizeBytes === undefined
      ? { mode: 'PRIVATE' }
      : { mode: 'PRIVATE', shmSizeBytes: policy.defaultShmSizeBytes };
  }
  if (
    typeof shmSize !== 'number' ||
    !Number.isSafeInteger(shmSize) ||
    shmSize <= 0 ||
    !Number.isSafeInteger(shmSize * MB)
  ) {
    throw new InvalidContainerConfigError(
      SHM_SIZE_FIELD,
      `${show(shmSize)} is not a valid /dev/shm size; accepted: a positive whole number of MB, e.g. 64`,
    );
  }
  return { mode: 'PRIVATE', shmSizeBytes: shmSize * MB };
}
