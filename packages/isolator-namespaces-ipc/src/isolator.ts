import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ContainerConfig,
  type ContainerID,
  type ContainerLaunchInfo,
  type ContainerMountInfo,
  type ContainerState,
  containerIdToString,
  type Isolator,
  type Logger,
  silentLogger,
} from '@corral/core';
import { unmountAll } from './mount-table.ts';
import { type IpcPolicy, type IpcSettings, resolveIpcSettings } from './options.ts';

export const SHM_MOUNT_POINT = '/dev/shm';
const DEFAULT_MQUEUE_MOUNT_POINT = '/dev/mqueue';
/**
 * Where Mesos-style layouts mounted a container's tmpfs on the host (`<runtime dir>/shm`, then
 * bound onto /dev/shm). This isolator never mounts there; cleanup still unmounts whatever it finds.
 */
const HOST_SHM_DIR = 'shm';

export interface IpcIsolatorOptions extends IpcPolicy {
  /**
   * The agent's runtime dir: an orphan reaches `recover` as a bare id, and its runtime dir is
   * `<agentRuntimeDir>/containers/<id>` (the containerizer's layout).
   */
  readonly agentRuntimeDir: string;
  readonly logger?: Logger;
  /**
   * Where the host mounts the POSIX message queue filesystem. When it exists, PRIVATE containers
   * get their own namespace's mqueue mounted over it: the host's mount lists (and lets root
   * unlink) the host's queues. Default `/dev/mqueue`.
   */
  readonly mqueueMountPoint?: string;
}

/**
 * What the init helper must do for `settings`. PRIVATE: new IPC and mount namespaces and a fresh
 * tmpfs on /dev/shm, mounted inside the container's mount namespace (so the kernel drops it with
 * the namespace); plus a fresh mqueue filesystem over `mqueueMountPoint` when given. SHARE_PARENT:
 * nothing, the container stays in the agent's IPC namespace and sees the host /dev/shm.
 */
export function ipcLaunchInfo(
  settings: IpcSettings,
  mqueueMountPoint?: string,
): ContainerLaunchInfo | undefined {
  if (settings.mode === 'SHARE_PARENT') return undefined;
  const size = settings.shmSizeBytes === undefined ? '' : `,size=${settings.shmSizeBytes}`;
  const mounts: ContainerMountInfo[] = [
    {
      target: SHM_MOUNT_POINT,
      source: 'shm',
      type: 'tmpfs',
      flags: ['nosuid', 'nodev'],
      options: `mode=1777${size}`,
    },
  ];
  if (mqueueMountPoint !== undefined) {
    mounts.push({
      target: mqueueMountPoint,
      source: 'mqueue',
      type: 'mqueue',
      flags: ['nosuid', 'nodev', 'noexec'],
    });
  }
  return { clone_namespaces: ['ipc', 'mnt'], mounts };
}

/**
 * The `namespaces/ipc` isolator: a top-level container gets its own IPC namespace (SysV message
 * queues, semaphores and shared memory, POSIX message queues) and its own /dev/shm (POSIX shared
 * memory), unless it asks for SHARE_PARENT. Nothing is created on the host, so there is nothing
 * to leak; `cleanup` only removes host mounts that older layouts left under the runtime dir.
 */
export function createIpcIsolator(options: IpcIsolatorOptions): Isolator {
  const logger = options.logger ?? silentLogger;
  const mqueueMountPoint = options.mqueueMountPoint ?? DEFAULT_MQUEUE_MOUNT_POINT;
  /** Runtime dir of every container this isolator has prepared or recovered, by id string. */
  const runtimeDirs = new Map<string, string>();

  return {
    recover(states: readonly ContainerState[], orphans: readonly ContainerID[]) {
      for (const state of states) {
        const key = containerIdToString(state.container_id);
        runtimeDirs.set(key, state.runtime_directory);
        const mode = state.config?.container_info?.linux_info?.ipc_mode;
        if (mode === 'SHARE_PARENT' && options.disallowSharingAgentIpcNamespace) {
          logger.warn(
            "a recovered container shares the agent's IPC namespace although " +
              '--disallow_sharing_agent_ipc_namespace=true; it keeps running',
            { container: key },
          );
        }
      }
      for (const id of orphans) {
        const key = containerIdToString(id);
        runtimeDirs.set(key, join(options.agentRuntimeDir, 'containers', key));
      }
    },

    prepare(id: ContainerID, config: ContainerConfig) {
      const settings = resolveIpcSettings(config, options);
      runtimeDirs.set(containerIdToString(id), config.runtime_directory);
      // A stat per launch: mounting over a missing path would mkdir it in the host's /dev.
      const mqueue = existsSync(mqueueMountPoint) ? mqueueMountPoint : undefined;
      return ipcLaunchInfo(settings, mqueue);
    },

    async cleanup(id: ContainerID) {
      const key = containerIdToString(id);
      const runtimeDir = runtimeDirs.get(key);
      if (runtimeDir === undefined) return;
      // The private /dev/shm died with the container's mount namespace; only a host-side mount
      // from an older layout can be left, and a mount point is a directory that exists.
      const hostShm = join(runtimeDir, HOST_SHM_DIR);
      if (existsSync(hostShm)) {
        let unmounted: number;
        try {
          unmounted = await unmountAll(hostShm);
        } catch (error) {
          throw new Error(
            `Failed to unmount the shared memory of container '${key}' at '${hostShm}': ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (unmounted > 0) {
          logger.info('unmounted a host-side /dev/shm left by an older layout', {
            container: key,
            path: hostShm,
            mounts: unmounted,
          });
        }
      }
      runtimeDirs.delete(key);
    },
  };
}
