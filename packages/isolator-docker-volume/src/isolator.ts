import { randomBytes } from 'node:crypto';
import {
  type ContainerConfig,
  type ContainerID,
  type ContainerLaunchInfo,
  type ContainerMountInfo,
  type ContainerState,
  containerIdToString,
  type Isolator,
  KeyedQueue,
  type Logger,
} from '@corral/core';
import type { CheckpointStore, HeldVolume, VolumeCheckpoint } from './checkpoint.ts';
import { mountTarget } from './mount-target.ts';
import { type PluginClient, PluginReplyError } from './plugin/client.ts';
import { type VolumeRequest, volumeRequests } from './volumes.ts';

export interface DockerVolumeOptions {
  readonly client: PluginClient;
  readonly checkpoints: CheckpointStore;
  readonly logger: Logger;
  /** First wait before retrying a failed Unmount; it doubles up to `retryMaxMs`. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

/** A container's volumes as held now, kept in step with its checkpoint. */
interface Holding {
  readonly mountId: string;
  volumes: { -readonly [K in keyof HeldVolume]: HeldVolume[K] }[];
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const volumeKey = (volume: Pick<HeldVolume, 'driver' | 'name'>) =>
  `${volume.driver}/${volume.name}`;

/**
 * `docker/volume`: mounts each container's Docker volumes through their plugins, one
 * `Mount {Name, ID}` per volume at launch and one `Unmount {Name, ID}` at destroy, with an `ID`
 * of the container's own so the plugin can count users. What a container holds is checkpointed
 * before each Mount, so a crash at any point still ends in a balanced Unmount; an Unmount that
 * fails is retried with backoff until the plugin takes it.
 */
export class DockerVolumeIsolator implements Isolator {
  readonly #client: PluginClient;
  readonly #checkpoints: CheckpointStore;
  readonly #logger: Logger;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  /** Calls on one volume are serialised, as Docker does. */
  readonly #perVolume = new KeyedQueue();
  readonly #holdings = new Map<string, Holding>();
  /** Containers whose Unmounts are being retried in the background. */
  readonly #retrying = new Map<string, Holding>();
  #unmountFailures = 0;

  constructor(options: DockerVolumeOptions) {
    this.#client = options.client;
    this.#checkpoints = options.checkpoints;
    this.#logger = options.logger;
    this.#retryBaseMs = options.retryBaseMs ?? 1_000;
    this.#retryMaxMs = options.retryMaxMs ?? 300_000;
  }

  async recover(states: readonly ContainerState[], orphans: readonly ContainerID[]): Promise<void> {
    const known = new Set<string>();
    for (const id of [...states.map((state) => state.container_id), ...orphans]) {
      const key = containerIdToString(id);
      known.add(key);
      const holding = this.#read(key);
      if (holding) this.#holdings.set(key, holding);
    }
    // Checkpoints of containers the engine no longer knows (its runtime state was lost, e.g. by a
    // reboot): nothing runs there any more, so give their volumes back.
    for (const key of this.#checkpoints.keys()) {
      if (known.has(key)) continue;
      const holding = this.#read(key);
      if (holding) this.#retryUnmounts(key, holding, 0);
      else await this.#checkpoints.remove(key);
    }
  }

  #read(key: string): Holding | undefined {
    const checkpoint = this.#checkpoints.read(key, (problem) =>
      this.#logger.warn('ignoring an unreadable volume checkpoint; nothing was mounted yet', {
        container: key,
        problem,
      }),
    );
    if (!checkpoint) return undefined;
    return {
      mountId: checkpoint.mountId,
      volumes: checkpoint.volumes.map((volume) => ({
        driver: volume.driver,
        name: volume.name,
        state: volume.state === 'mounted' ? 'mounted' : 'mounting',
      })),
    };
  }

  #save(key: string, holding: Holding): Promise<void> {
    const checkpoint: VolumeCheckpoint = { mountId: holding.mountId, volumes: holding.volumes };
    return this.#checkpoints.write(key, checkpoint);
  }

  async prepare(
    id: ContainerID,
    config: ContainerConfig,
  ): Promise<ContainerLaunchInfo | undefined> {
    const requests = volumeRequests(config);
    if (requests.length === 0) return undefined;
    const targets = requests.map((request) =>
      mountTarget(config.directory, request.containerPath, request.field),
    );
    const key = containerIdToString(id);
    // Docker gives plugins the container's 64-hex id; ours are names, so make one of that shape.
    const holding: Holding = { mountId: randomBytes(32).toString('hex'), volumes: [] };
    this.#holdings.set(key, holding);
    try {
      const mountpoints = await Promise.all(
        requests.map((request) => this.#mount(key, holding, request)),
      );
      const mounts = mountpoints.map(
        (source, index): ContainerMountInfo => ({
          source,
          target: targets[index] as string,
          flags: ['bind', 'rec', ...(requests[index]?.readOnly ? (['rdonly'] as const) : [])],
        }),
      );
      return { clone_namespaces: ['mnt'], mounts };
    } catch (error) {
      // Give back what was mounted before the failure; cleanup then finds nothing.
      this.#holdings.delete(key);
      await this.#unmountAll(key, holding).catch((unmountError: unknown) =>
        this.#logger.warn('unmount after a failed prepare failed; retrying', {
          container: key,
          error: messageOf(unmountError),
        }),
      );
      throw error;
    }
  }

  /** Get (Create if missing), then Mount; resolves with the plugin's mount point. */
  #mount(key: string, holding: Holding, request: VolumeRequest): Promise<string> {
    const { driver, name } = request;
    return this.#perVolume.run(volumeKey(request), async () => {
      try {
        await this.#client.call(driver, 'Get', { Name: name });
      } catch (error) {
        if (!(error instanceof PluginReplyError)) throw error;
        await this.#client.call(driver, 'Create', { Name: name, Opts: request.options });
      }
      const held: Holding['volumes'][number] = { driver, name, state: 'mounting' };
      holding.volumes.push(held);
      await this.#save(key, holding);
      let reply: Record<string, unknown>;
      try {
        reply = await this.#client.call(driver, 'Mount', { Name: name, ID: holding.mountId });
      } catch (error) {
        // The plugin said no: nothing to Unmount. Anything else (a timeout) may have mounted.
        if (error instanceof PluginReplyError) {
          holding.volumes.splice(holding.volumes.indexOf(held), 1);
          await this.#save(key, holding);
        }
        throw error;
      }
      held.state = 'mounted';
      await this.#save(key, holding);
      const mountpoint = reply.Mountpoint;
      if (typeof mountpoint !== 'string' || !mountpoint.startsWith('/')) {
        throw new PluginReplyError(
          driver,
          'VolumeDriver.Mount',
          `it gave the mount point ${JSON.stringify(mountpoint)} for volume '${name}', not an absolute path`,
        );
      }
      return mountpoint;
    });
  }

  /**
   * Unmounts every volume `holding` has; the checkpoint goes once all are given back. Rejects
   * naming the failures, after scheduling their retries.
   */
  async #unmountAll(key: string, holding: Holding): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      [...holding.volumes].map(async (volume) => {
        try {
          await this.#unmount(holding, volume);
        } catch (error) {
          failures.push(`${volumeKey(volume)}: ${messageOf(error)}`);
        }
      }),
    );
    if (holding.volumes.length === 0) {
      await this.#checkpoints.remove(key);
      return;
    }
    await this.#save(key, holding);
    this.#retryUnmounts(key, holding, 1);
    throw new Error(
      `unmounting failed (retried in the background with backoff; see isolator/docker/volume/unmounts_pending): ${failures.join('; ')}`,
    );
  }

  /** One Unmount; the volume leaves `holding` when the plugin has taken it back. */
  #unmount(holding: Holding, volume: Holding['volumes'][number]): Promise<void> {
    return this.#perVolume.run(volumeKey(volume), async () => {
      try {
        await this.#client.call(volume.driver, 'Unmount', {
          Name: volume.name,
          ID: holding.mountId,
        });
      } catch (error) {
        // A Mount that may not have happened, refused by the plugin: there was nothing to give back.
        if (!(volume.state === 'mounting' && error instanceof PluginReplyError)) {
          this.#unmountFailures += 1;
          throw error;
        }
      }
      holding.volumes.splice(holding.volumes.indexOf(volume), 1);
    });
  }

  #retryUnmounts(key: string, holding: Holding, attempt: number): void {
    this.#retrying.set(key, holding);
    const wait =
      attempt === 0 ? 0 : Math.min(this.#retryBaseMs * 2 ** (attempt - 1), this.#retryMaxMs);
    setTimeout(() => {
      const retry = async () => {
        for (const volume of [...holding.volumes]) {
          await this.#unmount(holding, volume).catch((error: unknown) =>
            this.#logger.warn('volume unmount failed; retrying', {
              container: key,
              volume: volumeKey(volume),
              error: messageOf(error),
            }),
          );
        }
        if (holding.volumes.length === 0) {
          await this.#checkpoints.remove(key);
          this.#retrying.delete(key);
          this.#logger.info('volumes unmounted after retries', { container: key });
          return;
        }
        await this.#save(key, holding);
        this.#retryUnmounts(key, holding, attempt + 1);
      };
      void retry();
    }, wait).unref();
  }

  async cleanup(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    const holding = this.#holdings.get(key);
    if (!holding) return;
    // Forgotten first: a failed Unmount is retried on its own, never pinned to this container.
    this.#holdings.delete(key);
    await this.#unmountAll(key, holding);
  }

  metrics(): Readonly<Record<string, number>> {
    let mounted = 0;
    for (const holding of this.#holdings.values()) mounted += holding.volumes.length;
    let pending = 0;
    for (const holding of this.#retrying.values()) pending += holding.volumes.length;
    return {
      volumes_mounted: mounted,
      unmounts_pending: pending,
      unmount_failures: this.#unmountFailures,
    };
  }
}
