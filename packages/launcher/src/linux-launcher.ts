import {
  cgroupExists,
  cgroupPath,
  createCgroup,
  destroyCgroup,
  findCgroup2Mount,
  listChildCgroups,
  prepareV1Hierarchy,
} from '@corral/cgroupfs';
import {
  ContainerExistsError,
  type ContainerID,
  containerIdToString,
  InvalidContainerIdError,
  parseContainerId,
} from '@corral/core';
import { DestroyError, LaunchError } from './errors.ts';
import type {
  InitSpec,
  Launcher,
  LauncherRecovery,
  PendingInit,
  RecoverableInit,
} from './launcher.ts';
import { checkProcessExit } from './process.ts';
import { watchRecoveredInits } from './recovery.ts';
import { Spawner } from './spawner.ts';

/** Which cgroup tracks a container: cgroup v2 (killed with `cgroup.kill`) or the v1 freezer. */
export type TrackingCgroups = 'v2' | 'v1-freezer';

export interface LinuxLauncherOptions {
  /** The cgroup (relative to the hierarchy) under which each container gets `<root>/<id>`. */
  readonly cgroupsRoot: string;
  /** Where v1 hierarchies are mounted, or get mounted when missing. Default `/sys/fs/cgroup`. */
  readonly cgroupsHierarchy?: string;
  /** Default: `v2` when a cgroup2 filesystem is mounted, else `v1-freezer`. */
  readonly tracking?: TrackingCgroups;
  /** Bound on killing and removing one container's cgroup. Default 60 s. */
  readonly destroyTimeoutMs?: number;
}

export const DEFAULT_CGROUPS_HIERARCHY = '/sys/fs/cgroup';
const DEFAULT_DESTROY_TIMEOUT_MS = 60_000;

/**
 * Tracks each container in a cgroup of its own, `<cgroupsRoot>/<id>`, in which the spawner forks
 * the init (cgroup v2: `clone3(CLONE_INTO_CGROUP)`); so destroy reaches every descendant,
 * daemonised or not (Mesos' LinuxLauncher).
 */
export class LinuxLauncher implements Launcher {
  readonly kind = 'linux';
  readonly tracking: TrackingCgroups;
  readonly #root: string;
  readonly #base: string;
  readonly #destroyTimeoutMs: number;
  readonly #containers = new Set<string>();
  /** Each container's init, where known: destroy's wait checks at once on its exit. */
  readonly #inits = new Map<string, { readonly pid: number; readonly exited: Promise<number> }>();
  readonly #spawner = new Spawner();
  #hierarchy: Promise<string> | undefined;

  constructor(options: LinuxLauncherOptions) {
    this.#root = options.cgroupsRoot;
    this.#base = options.cgroupsHierarchy ?? DEFAULT_CGROUPS_HIERARCHY;
    this.#destroyTimeoutMs = options.destroyTimeoutMs ?? DEFAULT_DESTROY_TIMEOUT_MS;
    this.tracking = options.tracking ?? (findCgroup2Mount() ? 'v2' : 'v1-freezer');
  }

  /** The mount point of the tracking hierarchy; the v1 freezer is mounted when missing. */
  hierarchy(): Promise<string> {
    this.#hierarchy ??= this.#findHierarchy();
    return this.#hierarchy;
  }

  async #findHierarchy(): Promise<string> {
    if (this.tracking === 'v1-freezer') return prepareV1Hierarchy(this.#base, 'freezer');
    const mount = findCgroup2Mount();
    if (mount === undefined) {
      throw new LaunchError(
        'The linux launcher was asked to track with cgroup v2, but no cgroup2 filesystem is mounted',
      );
    }
    return mount;
  }

  /** The tracking cgroup of `id`, relative to `hierarchy()`. */
  cgroupOf(id: ContainerID): string {
    return `${this.#root}/${containerIdToString(id)}`;
  }

  async fork(id: ContainerID, spec: InitSpec): Promise<PendingInit> {
    const key = containerIdToString(id);
    if (this.#containers.has(key)) throw new ContainerExistsError(key);
    this.#containers.add(key);
    const cgroup = this.cgroupOf(id);
    let hierarchy: string | undefined;
    try {
      hierarchy = await this.hierarchy();
      createCgroup(hierarchy, cgroup);
      const init = await this.#spawner.fork(spec, cgroupPath(hierarchy, cgroup));
      if (!this.#containers.has(key)) {
        init.abort();
        throw new LaunchError(`Container '${key}' was destroyed while its init was starting`);
      }
      this.#inits.set(key, { pid: init.pid, exited: init.exited });
      return init;
    } catch (error) {
      this.#containers.delete(key);
      if (hierarchy !== undefined) {
        await destroyCgroup(hierarchy, cgroup, { timeoutMs: this.#destroyTimeoutMs }).catch(
          (cleanup: unknown) => {
            throw new AggregateError(
              [error, cleanup],
              `Launch of '${key}' failed, and so did removing its cgroup`,
            );
          },
        );
      }
      throw error;
    }
  }

  async recover(expected: readonly RecoverableInit[]): Promise<LauncherRecovery> {
    const running = watchRecoveredInits(expected);
    const hierarchy = await this.hierarchy();
    const tracked = new Map<string, ContainerID>();
    const cgroups = cgroupExists(hierarchy, this.#root)
      ? listChildCgroups(hierarchy, this.#root)
      : [];
    for (const cgroup of cgroups) {
      const name = cgroup.slice(cgroup.lastIndexOf('/') + 1);
      try {
        tracked.set(name, parseContainerId(name));
      } catch (error) {
        // Like Mesos ("Not recovering cgroup"): a directory no container id maps to is not ours.
        if (!(error instanceof InvalidContainerIdError)) throw error;
      }
    }
    const expectedKeys = new Set(expected.map((init) => containerIdToString(init.id)));
    const orphans: ContainerID[] = [];
    for (const [key, id] of tracked) {
      this.#containers.add(key);
      if (!expectedKeys.has(key)) orphans.push(id);
    }
    for (const init of expected) {
      const key = containerIdToString(init.id);
      const exited = running.get(key);
      if (exited) this.#inits.set(key, { pid: init.pid, exited });
    }
    return { running, orphans };
  }

  async destroy(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    this.#containers.delete(key);
    const init = this.#inits.get(key);
    this.#inits.delete(key);
    try {
      // Killed with the rest, the init is reaped about when the cgroup empties: check then.
      await destroyCgroup(await this.hierarchy(), this.cgroupOf(id), {
        timeoutMs: this.#destroyTimeoutMs,
        wake: init?.exited,
      });
    } catch (error) {
      throw new DestroyError(key, (error as Error).message, { cause: error });
    }
    // The init is gone with the cgroup; one recovered after a restart is only polled for.
    if (init) checkProcessExit(init.pid);
  }
}
