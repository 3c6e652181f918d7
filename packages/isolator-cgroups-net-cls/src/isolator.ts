import {
  type ContainerConfig,
  ContainerExistsError,
  type ContainerID,
  type ContainerState,
  type ContainerStatus,
  containerIdToString,
  InvalidContainerConfigError,
  type Isolator,
  type Logger,
  parseContainerId,
  ResourceExhaustedError,
  type ResourceStatistics,
  type ScalarValue,
  silentLogger,
  UnknownContainerError,
} from '@corral/core';
import type { CgroupTree } from './cgroup-tree.ts';
import type { Egress } from './egress/egress.ts';
import { INTERFACES_FLAG } from './egress/flags.ts';
import { LIMIT_ACCEPTED, rateProblem } from './egress/rate.ts';
import {
  NetClsCgroupExistsError,
  NetClsClassidError,
  NetClsHandleConflictError,
} from './errors.ts';
import type { ManagedHandles } from './flags.ts';
import {
  classidOf,
  describeHandle,
  handleOf,
  type NetClsHandle,
  NetClsHandleManager,
} from './handle-manager.ts';

const CLASSID_FILE = 'net_cls.classid';
const MAX_CLASSID = 0xffff_ffff;

export interface NetClsIsolatorOptions {
  /** The net_cls hierarchy. */
  readonly tree: CgroupTree;
  /** `--cgroups_root`: containers get `<root>/<container id>`. */
  readonly root: string;
  /** Managed mode; absent means unmanaged (the operator writes classids, if any). */
  readonly handles?: ManagedHandles | undefined;
  readonly logger?: Logger;
  /** Egress accounting and shaping on the managed classids (managed mode only). */
  readonly egress?: Egress | undefined;
  /** The limit in bit/s of containers whose launch sets none (`--cgroups_net_cls_egress_rate_limit`). */
  readonly defaultRate?: number | undefined;
}

/** The per-container egress limit: a launch's (or update's) `limits` entry, in bits/s. */
export const EGRESS_LIMIT = 'network_egress';
const EGRESS_FIELD = `limits.${EGRESS_LIMIT}`;

/** What the isolator holds for one container. */
interface Tracked {
  readonly cgroup: string;
  /** The managed classid written to (or recovered from) the cgroup. */
  readonly handle?: NetClsHandle;
  /** Taken from the pool and not yet returned to it; false for foreign handles. */
  pooled: boolean;
  /** Its egress is counted (and shaped, with a limit) on its classid. */
  egress?: boolean;
}

/** A recovered container before the handles are reserved. */
interface Candidate {
  readonly key: string;
  readonly tracked: Tracked;
  /** Only a conflict between two containers the agent keeps running refuses recovery. */
  readonly kind: 'running' | 'orphan' | 'unknown';
}

/**
 * The `cgroups/net_cls` isolator: one net_cls cgroup per container, `<root>/<id>`, and in managed
 * mode a classid `0xAAAABBBB` (primary from the flags, a free secondary per container) written
 * before the container's command runs, so every packet it sends carries that classid.
 */
export class NetClsIsolator implements Isolator {
  readonly #tree: CgroupTree;
  readonly #root: string;
  readonly #managed: ManagedHandles | undefined;
  readonly #manager: NetClsHandleManager | undefined;
  readonly #logger: Logger;
  readonly #egress: Egress | undefined;
  readonly #defaultRate: number | undefined;
  readonly #containers = new Map<string, Tracked>();

  constructor(options: NetClsIsolatorOptions) {
    this.#tree = options.tree;
    this.#root = options.root;
    this.#managed = options.handles;
    this.#manager =
      options.handles &&
      new NetClsHandleManager({
        primaries: { lo: options.handles.primary, hi: options.handles.primary },
        secondaries: options.handles.secondaries,
      });
    this.#logger = options.logger ?? silentLogger;
    this.#egress = options.handles && options.egress;
    this.#defaultRate = options.defaultRate;
  }

  #cgroupOf(key: string): string {
    return `${this.#root}/${key}`;
  }

  #known(id: ContainerID): Tracked {
    const key = containerIdToString(id);
    const tracked = this.#containers.get(key);
    if (tracked === undefined) throw new UnknownContainerError(key);
    return tracked;
  }

  #readClassid(cgroup: string): number {
    const text = this.#tree.read(cgroup, CLASSID_FILE).trim();
    const classid = /^[0-9]{1,10}$/.test(text) ? Number(text) : Number.NaN;
    if (!(classid <= MAX_CLASSID)) {
      throw new NetClsClassidError(this.#tree.path(`${cgroup}/${CLASSID_FILE}`), text);
    }
    return classid;
  }

  /**
   * Re-reserves the handle of every running container and of the orphans the engine is about to
   * destroy, so none is handed out twice. A handle outside the current primary or range (the
   * flags changed) is kept as foreign: reported, never pooled. Cgroups under the root that no
   * container owns are destroyed here, their handles released once they are gone.
   */
  async recover(states: readonly ContainerState[], orphans: readonly ContainerID[]): Promise<void> {
    const candidates: Candidate[] = [];
    const seen = new Set<string>();
    const consider = (id: ContainerID, kind: Candidate['kind']): void => {
      const key = containerIdToString(id);
      if (seen.has(key)) return;
      seen.add(key);
      candidates.push(this.#recoverOne(key, kind));
    };
    for (const state of states) consider(state.container_id, 'running');
    for (const id of orphans) consider(id, 'orphan');
    for (const id of this.#unknownCgroups(seen)) consider(id, 'unknown');

    // Check every conflict before reserving anything, so a refused recovery changes nothing.
    const owners = new Map<number, string>();
    for (const { key, tracked, kind } of candidates) {
      if (!tracked.pooled || tracked.handle === undefined) continue;
      const classid = classidOf(tracked.handle);
      const owner = owners.get(classid);
      if (owner === undefined) {
        owners.set(classid, key);
      } else if (kind === 'running') {
        throw new NetClsHandleConflictError(classid, describeHandle(tracked.handle), owner, key);
      } else {
        // Its processes are about to be killed: keep it out of the pool rather than refuse.
        tracked.pooled = false;
        this.#logger.warn('net_cls handle of an orphan is also held by another container', {
          container: key,
          holder: owner,
          handle: describeHandle(tracked.handle),
        });
      }
    }
    for (const { key, tracked } of candidates) {
      if (tracked.pooled && tracked.handle) this.#manager?.reserve(tracked.handle);
      this.#containers.set(key, tracked);
    }
    await this.#recoverEgress(states, candidates);

    for (const { key, kind } of candidates) {
      if (kind !== 'unknown') continue;
      this.#logger.info('cleaning up an unknown orphan net_cls cgroup', { container: key });
      try {
        await this.cleanup(parseContainerId(key));
      } catch (error) {
        // Its handle stays reserved, so nothing is handed out twice; the agent can run on.
        this.#logger.error('failed to clean up an unknown orphan net_cls cgroup', {
          container: key,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /**
   * Rebuilds the egress table and classes for the running containers (limits from their launch,
   * or from the checkpoint when an update changed them); everything else of ours is removed.
   */
  async #recoverEgress(
    states: readonly ContainerState[],
    candidates: readonly Candidate[],
  ): Promise<void> {
    const egress = this.#egress;
    if (egress === undefined) return;
    const configs = new Map(states.map((s) => [containerIdToString(s.container_id), s.config]));
    const entries = [];
    for (const { key, tracked, kind } of candidates) {
      const config = configs.get(key);
      if (kind !== 'running' || !tracked.pooled || !tracked.handle || ownNetwork(config)) continue;
      let rate: number | undefined;
      try {
        rate = this.#rateOf(key, config?.limits);
      } catch (error) {
        // Shaping was turned off since the launch: keep the container, counted but unshaped.
        this.#logger.warn('egress limit of a recovered container dropped', {
          container: key,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      tracked.egress = true;
      entries.push({ key: egressKey(tracked.handle), minor: tracked.handle.secondary, rate });
    }
    await egress.start(entries);
  }

  /**
   * The container's egress limit in bit/s: its own (`Infinity` means none), else the agent's
   * default; refuses values HTB cannot enforce, and limits when shaping is off.
   */
  #rateOf(key: string, limits?: Readonly<Record<string, ScalarValue>>): number | undefined {
    const given = limits?.[EGRESS_LIMIT]?.value;
    if (given === undefined) return this.#defaultRate;
    if (!this.#egress?.shaping) {
      throw new InvalidContainerConfigError(
        EGRESS_FIELD,
        `container '${key}' asks for an egress limit of ${given} bit/s, but this agent does not ` +
          `shape egress; start it with --${INTERFACES_FLAG} (with --isolation=cgroups/net_cls)`,
      );
    }
    if (given === Number.POSITIVE_INFINITY) return undefined;
    const problem = rateProblem(given);
    if (problem) {
      throw new InvalidContainerConfigError(
        EGRESS_FIELD,
        `${given} is not an egress limit for container '${key}': ${problem}; accepted: ` +
          LIMIT_ACCEPTED,
      );
    }
    return Math.floor(given);
  }

  /** Top-level container ids of cgroups under the root that `known` does not list. */
  #unknownCgroups(known: ReadonlySet<string>): ContainerID[] {
    if (!this.#tree.exists(this.#root)) return [];
    const ids: ContainerID[] = [];
    for (const cgroup of this.#tree.children(this.#root)) {
      const name = cgroup.slice(cgroup.lastIndexOf('/') + 1);
      if (known.has(name)) continue;
      try {
        const id = parseContainerId(name);
        // Nested ids contain '.', which is not how this isolator names cgroups: not ours.
        if (id.parent === undefined) ids.push(id);
      } catch {
        // Not a container id, so not a cgroup this isolator made (Mesos skips these too).
      }
    }
    return ids;
  }

  #recoverOne(key: string, kind: Candidate['kind']): Candidate {
    const cgroup = this.#cgroupOf(key);
    if (!this.#tree.exists(cgroup)) {
      if (kind === 'running') {
        // E.g. net_cls was added to --isolation after the container started: it has no classid.
        this.#logger.warn('no net_cls cgroup for a recovered container', {
          container: key,
          cgroup: this.#tree.path(cgroup),
        });
      }
      return { key, kind, tracked: { cgroup, pooled: false } };
    }
    const classid = this.#readClassid(cgroup);
    if (this.#manager === undefined || classid === 0) {
      return { key, kind, tracked: { cgroup, pooled: false } };
    }
    const handle = handleOf(classid);
    const inRange = this.#manager.contains(handle);
    if (!inRange) {
      this.#logger.warn('recovered a foreign net_cls handle: kept, never reused', {
        container: key,
        handle: describeHandle(handle),
        primary: this.#managed?.primary,
        secondaries: this.#managed?.secondaries,
      });
    }
    return { key, kind, tracked: { cgroup, handle, pooled: inRange } };
  }

  /**
   * Creates `<root>/<id>` and, in managed mode, allocates the container's handle; with egress on,
   * puts its HTB class and map entry in place when it has a limit.
   */
  prepare(id: ContainerID, config?: ContainerConfig): undefined | Promise<undefined> {
    const key = containerIdToString(id);
    if (this.#containers.has(key)) throw new ContainerExistsError(key);
    // Read before anything is acquired, so a refused limit leaves nothing behind.
    const ownNet = ownNetwork(config);
    const explicit = config?.limits?.[EGRESS_LIMIT];
    if (ownNet && explicit !== undefined) {
      throw new InvalidContainerConfigError(
        EGRESS_FIELD,
        `container '${key}' joins networks of its own (container.network_infos): the host's IP ` +
          `stack drops the socket, and with it the classid, before its packets reach a host ` +
          `interface, so they cannot be shaped by classid; shape it in its CNI network (the ` +
          `bandwidth plugin) instead`,
      );
    }
    const rate = this.#egress && !ownNet ? this.#rateOf(key, config?.limits) : undefined;
    const cgroup = this.#cgroupOf(key);
    let handle: NetClsHandle | undefined;
    if (this.#manager) {
      try {
        handle = this.#manager.alloc();
      } catch (error) {
        if (!(error instanceof ResourceExhaustedError)) throw error;
        throw new ResourceExhaustedError(
          error.resource,
          `Cannot launch container '${key}': ${error.message}`,
        );
      }
    }
    try {
      // Created or refused in one mkdir: a cgroup that was there is someone else's, or one a
      // crash left, and not ours to use or remove.
      if (!this.#tree.create(cgroup)) {
        throw new NetClsCgroupExistsError(key, this.#tree.path(cgroup));
      }
    } catch (error) {
      if (handle) this.#manager?.free(handle);
      throw error;
    }
    const egress = this.#egress !== undefined && handle !== undefined && !ownNet;
    this.#containers.set(key, {
      cgroup,
      pooled: handle !== undefined,
      ...(handle && { handle }),
      egress,
    });
    if (handle) {
      this.#logger.info('allocated a net_cls handle', {
        container: key,
        handle: describeHandle(handle),
      });
    }
    if (!egress || !handle) return undefined;
    return this.#egress?.add({ key: egressKey(handle), minor: handle.secondary, rate }).then(
      () => undefined,
      async (error: unknown) => {
        // Nothing half-created: the class and map entry are gone (add undoes itself).
        await this.cleanup(id);
        throw error;
      },
    );
  }

  /** Writes the classid, then moves the init into the cgroup: before its command runs. */
  async isolate(id: ContainerID, pid: number): Promise<void> {
    const { cgroup, handle } = this.#known(id);
    if (handle) this.#tree.write(cgroup, CLASSID_FILE, String(classidOf(handle)));
    await this.#tree.assign(cgroup, pid);
  }

  /**
   * `cgroup_info.net_cls.classid`: the managed handle; in unmanaged mode whatever the operator
   * wrote, if anything (read each time, since it may be written at any moment).
   */
  status(id: ContainerID): ContainerStatus {
    const tracked = this.#known(id);
    let classid: number | undefined;
    if (this.#manager) {
      classid = tracked.handle && classidOf(tracked.handle);
    } else if (this.#tree.exists(tracked.cgroup)) {
      classid = this.#readClassid(tracked.cgroup) || undefined;
    }
    return classid === undefined ? {} : { cgroup_info: { net_cls: { classid } } };
  }

  /**
   * With egress on: `net_tx_bytes` (L3, IP headers included) and `net_tx_packets` the container
   * sent through non-loopback interfaces, and `net_tx_rate_limit` (bytes/s) when it is shaped.
   */
  async usage(id: ContainerID): Promise<ResourceStatistics> {
    const { handle, egress } = this.#known(id);
    if (!egress || !handle || !this.#egress) return {};
    const key = egressKey(handle);
    const counters = await this.#egress.counters(key);
    const rate = this.#egress.rate(key);
    return {
      ...(counters && { net_tx_bytes: counters.bytes, net_tx_packets: counters.packets }),
      ...(rate !== undefined && { net_tx_rate_limit: rate / 8 }),
    };
  }

  /** A new `limits.network_egress` (absent: the agent's default) changes the class in place. */
  async update(
    id: ContainerID,
    _requests: readonly unknown[],
    limits: Readonly<Record<string, ScalarValue>>,
  ): Promise<void> {
    const key = containerIdToString(id);
    const tracked = this.#containers.get(key);
    if (!tracked?.egress || !tracked.handle || !this.#egress) return;
    await this.#egress.setRate(egressKey(tracked.handle), this.#rateOf(key, limits));
  }

  /**
   * `handles_in_use`, `handles_free` and `handles_foreign` in managed mode, with egress on also
   * `egress_counted`, `egress_shaped`, `egress_counter_read_ms`, `egress_table_restores`.
   */
  metrics(): Readonly<Record<string, number>> {
    if (this.#manager === undefined) return {};
    let foreign = 0;
    for (const tracked of this.#containers.values()) {
      if (tracked.handle && !this.#manager.contains(tracked.handle)) foreign++;
    }
    const { inUse, free } = this.#manager.count();
    return {
      handles_in_use: inUse,
      handles_free: free,
      handles_foreign: foreign,
      ...this.#egress?.metrics(),
    };
  }

  /**
   * Frees the handle once no process can carry it any more, then removes the cgroup. A no-op for
   * containers this isolator does not know.
   */
  async cleanup(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    const tracked = this.#containers.get(key);
    if (tracked === undefined) return;
    // The engine has killed the container; this only catches processes moved here by others.
    await this.#tree.kill(tracked.cgroup);
    // Before the handle can be handed out again: its counters and class must not be inherited.
    if (tracked.egress && tracked.handle) {
      await this.#egress?.remove(egressKey(tracked.handle));
      tracked.egress = false;
    }
    if (tracked.pooled && tracked.handle) {
      this.#manager?.free(tracked.handle);
      tracked.pooled = false;
    }
    await this.#tree.destroy(tracked.cgroup);
    this.#containers.delete(key);
  }
}

/** The egress key of a classid: decimal, as `nft -j` lists it. */
function egressKey(handle: NetClsHandle): string {
  return String(classidOf(handle));
}

/** A container with networks of its own (network/cni) sends from its own network namespace. */
function ownNetwork(config: ContainerConfig | undefined): boolean {
  return (config?.container_info?.network_infos?.length ?? 0) > 0;
}
