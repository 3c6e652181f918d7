import type { ContainerConfig, ContainerState, Resource, ScalarValue } from './container-config.ts';
import type { ContainerID } from './container-id.ts';
import type { ContainerStatus } from './container-status.ts';
import type { ContainerLaunchInfo } from './launch-info.ts';
import type { ResourceStatistics } from './resource-statistics.ts';
import type { ContainerLimitation } from './termination.ts';

/** A value or a promise of it: the engine awaits either, so simple isolators can stay synchronous. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * The isolator lifecycle (after Mesos' `mesos::slave::Isolator`). Every method is optional; an
 * absent method has the documented default. The engine guarantees, per isolator:
 *
 * - Calls for one container never overlap; calls for different containers may.
 * - `prepare` runs in the configured `--isolation` order, one isolator after another; `cleanup` runs
 *   in the reverse order. `recover`, `isolate`, `update`, `usage` and `status` run in parallel
 *   across isolators.
 * - The container's command does not run before every `isolate` has resolved.
 * - `cleanup` is called at most once per container, only after `prepare` (if it was called) has
 *   settled, successfully or not, and only after every process of the container is gone.
 * - Containers with a parent are only passed to isolators that `supportsNesting`. Corral's
 *   top-level containers are executor containers in Mesos' terms (the agent shows each as a task
 *   of a local framework), so every isolator sees them; `supportsStandalone` is kept for
 *   executor-less standalone containers, which Corral does not create yet.
 */
export interface Isolator {
  /** Whether nested containers are passed to this isolator. Default false. */
  readonly supportsNesting?: boolean;
  /** Whether executor-less standalone containers would be passed to it. Default false. */
  readonly supportsStandalone?: boolean;

  /**
   * Called once at agent start, before any other call, with the containers that survived the
   * restart and the orphans (containers whose runtime state exists but that the engine will
   * destroy). Rebuild in-memory state for both, so that `cleanup` of an orphan works. A rejection
   * fails agent recovery, so reject only when continuing would be unsafe (e.g. two containers
   * holding one exclusive resource). Default: nothing.
   */
  recover?(states: readonly ContainerState[], orphans: readonly ContainerID[]): MaybePromise<void>;

  /**
   * Called before the container's init exists. Validate per-container options (throw
   * `InvalidContainerConfigError` naming the field), acquire what the container needs, and return
   * what the launcher must do (namespaces, mounts, environment, …). If `prepare` throws, it must
   * first release whatever it acquired; `cleanup` is still called afterwards and must be safe.
   * Default: no launch info.
   */
  prepare?(id: ContainerID, config: ContainerConfig): MaybePromise<ContainerLaunchInfo | undefined>;

  /**
   * Called with the pid of the container's init while it is blocked before running the command
   * (e.g. move `pid` into a cgroup). Default: nothing.
   */
  isolate?(id: ContainerID, pid: number): MaybePromise<void>;

  /**
   * Resolves only if the container hits a limit; the engine then destroys it with that
   * limitation. `signal` aborts when the container is destroyed, so the isolator can drop
   * whatever it holds for the watch. Default: never resolves.
   */
  watch?(id: ContainerID, signal: AbortSignal): Promise<ContainerLimitation>;

  /** Resources of a running container changed. Ignored for unknown containers. Default: nothing. */
  update?(
    id: ContainerID,
    requests: readonly Resource[],
    limits: Readonly<Record<string, ScalarValue>>,
  ): MaybePromise<void>;

  /** This isolator's part of the container's usage. Default: empty statistics. */
  usage?(id: ContainerID): MaybePromise<ResourceStatistics>;

  /** This isolator's part of the container's status. Default: empty status. */
  status?(id: ContainerID): MaybePromise<ContainerStatus>;

  /**
   * Gauges for the agent's `/metrics`, e.g. `{ handles_in_use: 3, handles_free: 65532 }`; the agent
   * publishes them as `isolator/<name>/<key>`. Keep it cheap: it is called on every scrape.
   */
  metrics?(): Readonly<Record<string, number>>;

  /**
   * Release everything held for the container. Called after all its processes are gone. Must
   * succeed (do nothing) for a container this isolator has never heard of. Default: nothing.
   */
  cleanup?(id: ContainerID): MaybePromise<void>;
}
