import { mkdirSync, readdirSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import {
  type ContainerConfig,
  ContainerExistsError,
  type ContainerID,
  type ContainerLimitation,
  type ContainerPrivileges,
  type ContainerState,
  type ContainerStatus,
  type ContainerTermination,
  containerIdToString,
  InvalidContainerConfigError,
  type Isolator,
  KeyedQueue,
  type Logger,
  parseContainerId,
  type ResourceStatistics,
  silentLogger,
  UnknownContainerError,
  validateContainerId,
} from '@corral/core';
import {
  type InitSpec,
  type Launcher,
  type PendingInit,
  type RecoverableInit,
  readExitStatus,
} from '@corral/launcher';
import {
  CHECKPOINT,
  containerRuntimeDir,
  type InitCheckpoint,
  isTmpfs,
  type LaunchCheckpoint,
  readCheckpoint,
  removeRuntimeDir,
  writeCheckpoint,
} from './checkpoint.ts';
import { buildInitSpec, type CommandPrivileges } from './init-spec.ts';
import { type IsolatorLaunchInfo, mergeLaunchInfos } from './launch-info-merge.ts';
import { mergeStatistics, mergeStatuses } from './merge-reports.ts';
import {
  type CommandIdentity,
  commandIdentity,
  type NoNewPrivilegesPolicy,
  noNewPrivilegesFor,
  type PrivilegeSettings,
  privilegesOf,
} from './privileges.ts';
import { terminationOf } from './termination.ts';
import type { UserFiles } from './users.ts';

/** An isolator with the name it was enabled under, in `--isolation` order. */
export interface NamedIsolator {
  readonly name: string;
  readonly isolator: Isolator;
}

export type ContainerStateName = 'PREPARING' | 'ISOLATING' | 'RUNNING' | 'DESTROYING';

/**
 * A state change; `to: 'TERMINATED'` is the container's last event and carries the termination
 * and what failed while destroying it (empty when the destroy was clean).
 */
export type ContainerEvent =
  | { readonly id: ContainerID; readonly to: ContainerStateName; readonly at: number }
  | {
      readonly id: ContainerID;
      readonly to: 'TERMINATED';
      readonly at: number;
      readonly termination: ContainerTermination;
      readonly destroyFailures: readonly string[];
    };

/** What the caller supplies; the containerizer adds the runtime directory. */
export type LaunchRequest = Omit<ContainerConfig, 'runtime_directory'>;

export interface ContainerSnapshot {
  readonly id: ContainerID;
  readonly state: ContainerStateName;
  readonly pid?: number;
  readonly config?: ContainerConfig;
  /** Epoch milliseconds when the launch began (or when it was recovered). */
  readonly since: number;
}

export interface RecoveryResult {
  readonly recovered: readonly ContainerID[];
  readonly orphans: readonly ContainerID[];
}

/**
 * Points of the launch and destroy sequences, in order: `prepared` (every isolator prepared, no
 * init yet), `forked` (the init exists, blocked; its pid checkpoint may be in flight), `isolated` (every
 * isolate() done; the sync pipe not yet released), `released` (the command runs), `killed`
 * (destroy: every process gone), and
 * `cleaning:<isolator>` (destroy: before that isolator's cleanup).
 */
export type ContainerStep =
  | 'prepared'
  | 'forked'
  | 'isolated'
  | 'released'
  | 'killed'
  | `cleaning:${string}`;

export interface ContainerizerOptions {
  /** `--runtime_dir`: checkpoints live in `<runtimeDir>/containers/<id>/`. */
  readonly runtimeDir: string;
  readonly launcher: Launcher;
  /** In `--isolation` order: prepare runs in this order, cleanup in reverse. */
  readonly isolators: readonly NamedIsolator[];
  readonly logger?: Logger;
  /** `--switch_user`: whether `command.user` may name a user other than the agent's. Default true. */
  readonly switchUser?: boolean;
  /** `--no_new_privileges`. Default `required`. */
  readonly noNewPrivileges?: NoNewPrivilegesPolicy;
  /** Where users are looked up; default /etc/passwd and /etc/group. */
  readonly userFiles?: UserFiles;
  /**
   * Called synchronously at each step, for tracing and for crash tests that stop the agent at an
   * exact point (the agent's CORRAL_TEST_CRASH_AT).
   */
  readonly onStep?: (step: ContainerStep, id: ContainerID) => void;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

interface Container {
  readonly id: ContainerID;
  readonly key: string;
  state: ContainerStateName;
  since: number;
  config?: ContainerConfig;
  pid?: number;
  startTime?: number;
  /** What the command runs with, once the init spec is built (or recovered). */
  privileges?: ContainerPrivileges;
  /** Present while this process holds the init's sync pipe (launched here, not recovered). */
  init?: PendingInit;
  /** Resolves with the command's wait status when the init exits. */
  exitStatus?: Promise<number>;
  /** Set when the operator asked for the container to stop (kill or destroy): TASK_KILLED. */
  killRequested: boolean;
  readonly watches: AbortController;
  /**
   * The first limitation an isolator reported. It also counts when it comes while the container
   * is being destroyed for another reason: an OOM kill of the command ends the container at once,
   * and the isolator may only see the kill during its cleanup.
   */
  limitation?: TerminationCause;
  destroying?: Promise<ContainerTermination>;
  readonly termination: Deferred<ContainerTermination>;
}

/** Fields of a termination for reasons other than the command's own exit. */
type TerminationCause = Pick<
  ContainerTermination,
  'state' | 'reason' | 'message' | 'limited_resources'
>;

/**
 * Hands the sandbox and the output files to the command's user: it writes its files there, and
 * may reopen its stdout and stderr by name (the init opened them as root).
 */
async function giveSandbox(spec: InitSpec, { uid, gid }: CommandIdentity): Promise<void> {
  await chown(spec.workingDirectory, uid, gid);
  await Promise.all(
    [spec.stdoutFile, spec.stderrFile].map(async (file) => {
      await writeFile(file, '', { flag: 'a' });
      await chown(file, uid, gid);
    }),
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The engine (Mesos' MesosContainerizer): launches containers through the launcher, calling the
 * isolators in the documented order, checkpoints them so a restarted agent can recover them, and
 * destroys them leaving nothing behind. Operations on one container are serialised; different
 * containers proceed concurrently.
 */
export class Containerizer {
  private readonly containers = new Map<string, Container>();
  private readonly queue = new KeyedQueue();
  private readonly listeners = new Set<(event: ContainerEvent) => void>();
  private readonly runtimeDir: string;
  private readonly launcher: Launcher;
  private readonly isolators: readonly NamedIsolator[];
  private readonly logger: Logger;
  private readonly step: (step: ContainerStep, id: ContainerID) => void;
  /** Whether the runtime dir is on tmpfs, where checkpoint writes are cheap enough to do at once. */
  private readonly tmpfsRuntime: boolean;
  private readonly privilegeSettings: PrivilegeSettings;

  constructor(options: ContainerizerOptions) {
    this.runtimeDir = options.runtimeDir;
    this.launcher = options.launcher;
    this.isolators = options.isolators;
    this.logger = options.logger ?? silentLogger;
    this.step = options.onStep ?? (() => undefined);
    this.privilegeSettings = {
      switchUser: options.switchUser ?? true,
      noNewPrivileges: options.noNewPrivileges ?? 'required',
      ...(options.userFiles ? { userFiles: options.userFiles } : {}),
    };
    mkdirSync(join(this.runtimeDir, 'containers'), { recursive: true });
    this.tmpfsRuntime = isTmpfs(this.runtimeDir);
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onEvent(listener: (event: ContainerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ids of every container that is not yet terminated. */
  list(): ContainerID[] {
    return [...this.containers.values()].map((container) => container.id);
  }

  snapshot(id: ContainerID): ContainerSnapshot | undefined {
    const container = this.containers.get(containerIdToString(id));
    if (!container) return undefined;
    return {
      id: container.id,
      state: container.state,
      since: container.since,
      ...(container.pid === undefined ? {} : { pid: container.pid }),
      ...(container.config === undefined ? {} : { config: container.config }),
    };
  }

  /**
   * Launches a container. Resolves once the command has been exec'd, isolated. Returns
   * 'already_launched' for an id that is known. On any failure everything built so far (cgroups,
   * handles, mounts, processes, runtime dir) is destroyed before the error is rethrown.
   */
  async launch(id: ContainerID, request: LaunchRequest): Promise<'launched' | 'already_launched'> {
    validateContainerId(id);
    if (id.parent) {
      throw new InvalidContainerConfigError(
        'container_id.parent',
        'nested containers are not supported yet; launch a top-level container',
      );
    }
    const key = containerIdToString(id);
    if (this.containers.has(key)) return 'already_launched';
    // Checked before anything exists: a bad user or opt-out is refused with nothing to undo.
    const privileges: CommandPrivileges = {
      identity: commandIdentity(request, this.privilegeSettings),
      noNewPrivileges: noNewPrivilegesFor(request, this.privilegeSettings.noNewPrivileges),
    };
    const config: ContainerConfig = {
      ...request,
      runtime_directory: containerRuntimeDir(this.runtimeDir, id),
    };
    const container = this.track(id, 'PREPARING', config);
    return this.queue.run(key, async (): Promise<'launched'> => {
      try {
        await this.runLaunch(container, config, privileges);
        return 'launched';
      } catch (error) {
        this.logger.warn('container launch failed', { container: key, error: messageOf(error) });
        await this.destroyNow(container, {
          state: 'TASK_FAILED',
          reason: 'REASON_CONTAINER_LAUNCH_FAILED',
          message: messageOf(error),
        });
        throw error;
      }
    });
  }

  private track(id: ContainerID, state: ContainerStateName, config?: ContainerConfig): Container {
    const key = containerIdToString(id);
    if (this.containers.has(key)) throw new ContainerExistsError(key);
    const container: Container = {
      id,
      key,
      state,
      since: Date.now(),
      killRequested: false,
      watches: new AbortController(),
      termination: deferred(),
      ...(config === undefined ? {} : { config }),
    };
    this.containers.set(key, container);
    this.emit({ id, to: state, at: container.since });
    return container;
  }

  private transition(container: Container, to: ContainerStateName): void {
    container.state = to;
    const at = Date.now();
    this.logger.debug('container state changed', { container: container.key, state: to });
    this.emit({ id: container.id, to, at });
  }

  private emit(event: ContainerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error('container event listener failed', { error: messageOf(error) });
      }
    }
  }

  private async runLaunch(
    container: Container,
    config: ContainerConfig,
    privileges: CommandPrivileges,
  ): Promise<void> {
    const { id } = container;
    // The runtime dir first: a crash from here on leaves it for recovery to find and clean up.
    // The sandbox (on the work dir, often a disk) is made while the isolators prepare; the init
    // needs it only at the fork. A failure is kept, not thrown, until then.
    const sandbox = mkdir(config.directory, { recursive: true }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (this.tmpfsRuntime) mkdirSync(config.runtime_directory, { recursive: true });
    else await mkdir(config.runtime_directory, { recursive: true });

    const parts: IsolatorLaunchInfo[] = [];
    for (const { name, isolator } of this.isolators) {
      const info = await isolator.prepare?.(id, config);
      if (info) parts.push({ isolator: name, info });
    }
    const launchInfo = mergeLaunchInfos(parts);
    const spec = buildInitSpec(id, config, launchInfo, parts, privileges);
    container.privileges = privilegesOf(privileges.identity, spec);
    const launched: LaunchCheckpoint = {
      config,
      launch_info: launchInfo,
      privileges: container.privileges,
    };
    await writeCheckpoint(
      join(config.runtime_directory, CHECKPOINT.launch),
      launched,
      this.tmpfsRuntime,
    );
    this.step('prepared', id);

    const sandboxError = await sandbox;
    if (sandboxError) throw sandboxError;
    if (privileges.identity.switchUser) await giveSandbox(spec, privileges.identity);
    const init = await this.launcher.fork(id, spec);
    container.init = init;
    container.pid = init.pid;
    container.startTime = init.startTime;
    this.onExit(container, init.exited);
    this.step('forked', id);

    this.transition(container, 'ISOLATING');
    this.watch(container);
    // The pid checkpoint is written while the isolators work; both finish before the release.
    const checkpoint: InitCheckpoint = { pid: init.pid, start_time: init.startTime };
    await Promise.all([
      writeCheckpoint(
        join(config.runtime_directory, CHECKPOINT.init),
        checkpoint,
        this.tmpfsRuntime,
      ),
      ...this.isolators.map(({ isolator }) => isolator.isolate?.(id, init.pid)),
    ]);
    this.step('isolated', id);
    await init.release();
    this.step('released', id);
    this.transition(container, 'RUNNING');
  }

  /** When the init exits, the container is destroyed (Mesos' `reaped`). */
  private onExit(container: Container, exitStatus: Promise<number>): void {
    container.exitStatus = exitStatus;
    void exitStatus.then(() => {
      void this.queue
        .run(container.key, () => this.destroyNow(container))
        .catch((error) =>
          this.logger.error('destroy after exit failed', {
            container: container.key,
            error: messageOf(error),
          }),
        );
    });
  }

  private watch(container: Container): void {
    for (const { name, isolator } of this.isolators) {
      if (!isolator.watch) continue;
      isolator.watch(container.id, container.watches.signal).then(
        (limitation: ContainerLimitation) => {
          if (container.watches.signal.aborted) return;
          this.logger.info('container hit a limit', {
            container: container.key,
            isolator: name,
            message: limitation.message,
          });
          container.limitation ??= {
            state: 'TASK_FAILED',
            reason: limitation.reason ?? 'REASON_CONTAINER_LIMITATION',
            message: limitation.message,
            ...(limitation.resources ? { limited_resources: limitation.resources } : {}),
          };
          void this.queue.run(container.key, () => this.destroyNow(container));
        },
        (error: unknown) => {
          if (container.watches.signal.aborted) return;
          this.logger.error('isolator watch failed', {
            container: container.key,
            isolator: name,
            error: messageOf(error),
          });
        },
      );
    }
  }

  /** Resolves with the termination once the container is destroyed; undefined if unknown. */
  wait(id: ContainerID): Promise<ContainerTermination> | undefined {
    return this.containers.get(containerIdToString(id))?.termination.promise;
  }

  /**
   * Sends `signal` to the container's init, which forwards it to the command. SIGKILL, which no
   * process can forward, destroys the container: every process gets it at once (Mesos sends it
   * to the init alone, whose exit then destroys the rest; the termination is the same, the
   * command just does not outlive the init). A container whose command has not started yet is
   * destroyed too. Returns false for an unknown container.
   */
  kill(id: ContainerID, signal: NodeJS.Signals | number = 'SIGKILL'): boolean {
    const container = this.containers.get(containerIdToString(id));
    if (!container) return false;
    container.killRequested = true;
    if (
      container.state !== 'RUNNING' ||
      container.pid === undefined ||
      signal === 'SIGKILL' ||
      signal === constants.signals.SIGKILL
    ) {
      void this.destroy(id).catch(() => undefined);
      return true;
    }
    try {
      process.kill(container.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    return true;
  }

  /** Kills everything in the container, cleans up the isolators, removes its runtime dir. */
  destroy(id: ContainerID): Promise<ContainerTermination> {
    const container = this.containers.get(containerIdToString(id));
    if (!container) return Promise.reject(new UnknownContainerError(containerIdToString(id)));
    container.killRequested = true;
    if (container.destroying) return container.destroying;
    return this.queue.run(container.key, () => this.destroyNow(container));
  }

  /** The destroy sequence; callers hold the container's queue slot. */
  private destroyNow(
    container: Container,
    cause?: TerminationCause,
  ): Promise<ContainerTermination> {
    container.destroying ??= this.runDestroy(container, cause);
    return container.destroying;
  }

  private async runDestroy(
    container: Container,
    cause: TerminationCause | undefined,
  ): Promise<ContainerTermination> {
    const { id, key } = container;
    if (container.state !== 'DESTROYING') this.transition(container, 'DESTROYING');
    container.init?.abort();
    const failures: string[] = [];
    try {
      await this.launcher.destroy(id);
    } catch (error) {
      failures.push(`failed to kill all processes in the container: ${messageOf(error)}`);
    }
    const status = failures.length === 0 ? await container.exitStatus : undefined;
    this.step('killed', id);
    for (const { name, isolator } of [...this.isolators].reverse()) {
      this.step(`cleaning:${name}`, id);
      try {
        await isolator.cleanup?.(id);
      } catch (error) {
        failures.push(`isolator '${name}' failed to clean up: ${messageOf(error)}`);
      }
    }
    // Watches stay open until every isolator has cleaned up (see `limitation`).
    container.watches.abort();
    if (failures.length === 0) {
      try {
        await removeRuntimeDir(containerRuntimeDir(this.runtimeDir, id), this.tmpfsRuntime);
      } catch (error) {
        failures.push(`failed to remove the runtime directory: ${messageOf(error)}`);
      }
    }
    if (failures.length > 0) {
      // The checkpoint stays so that the next recovery retries the cleanup as an orphan.
      this.logger.error('container destroy incomplete', { container: key, failures });
    }
    const termination = terminationOf(
      status,
      container.killRequested,
      cause ?? container.limitation,
      failures,
    );
    this.containers.delete(key);
    this.logger.info('container terminated', { container: key, state: termination.state });
    this.emit({ id, to: 'TERMINATED', at: Date.now(), termination, destroyFailures: failures });
    container.termination.resolve(termination);
    return termination;
  }

  /** Merged status of every isolator, plus container_id and executor_pid. */
  async status(id: ContainerID): Promise<ContainerStatus> {
    const container = this.known(id);
    const parts = await this.collect(container, 'status', (isolator) => isolator.status?.(id));
    return mergeStatuses([
      ...parts,
      {
        container_id: id,
        ...(container.pid === undefined ? {} : { executor_pid: container.pid }),
        ...(container.privileges ? { privileges: container.privileges } : {}),
      },
    ]);
  }

  /** Merged usage of every isolator, with a timestamp. */
  async usage(id: ContainerID): Promise<ResourceStatistics> {
    const container = this.known(id);
    const parts = await this.collect(container, 'usage', (isolator) => isolator.usage?.(id));
    return mergeStatistics([...parts, { timestamp: Date.now() / 1000 }]);
  }

  private known(id: ContainerID): Container {
    const container = this.containers.get(containerIdToString(id));
    if (!container) throw new UnknownContainerError(containerIdToString(id));
    return container;
  }

  /** Calls every isolator in parallel; a failing one is skipped with a warning (partial result). */
  private async collect<T>(
    container: Container,
    what: string,
    call: (isolator: Isolator) => T | Promise<T> | undefined,
  ): Promise<T[]> {
    const results = await Promise.allSettled(
      this.isolators.map(async ({ isolator }) => call(isolator)),
    );
    const parts: T[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        if (result.value !== undefined) parts.push(result.value);
      } else {
        this.logger.warn(`isolator ${what} failed`, {
          container: container.key,
          isolator: this.isolators[index]?.name,
          error: messageOf(result.reason),
        });
      }
    });
    return parts;
  }

  /**
   * Rebuilds state after an agent restart: containers whose init is alive are RUNNING again and
   * watched for exit; those that exited while the agent was down are destroyed with the status
   * their init recorded; runtime dirs without an init checkpoint (a launch interrupted before the
   * fork) and tracking cgroups nobody checkpointed are orphans and destroyed.
   */
  async recover(): Promise<RecoveryResult> {
    const states: ContainerState[] = [];
    const expected: RecoverableInit[] = [];
    const orphans: ContainerID[] = [];
    for (const entry of readdirSync(join(this.runtimeDir, 'containers'))) {
      let id: ContainerID;
      try {
        id = parseContainerId(entry);
      } catch (error) {
        this.logger.warn('ignoring a runtime dir that is not a container id', {
          entry,
          error: messageOf(error),
        });
        continue;
      }
      const dir = containerRuntimeDir(this.runtimeDir, id);
      const launched = readCheckpoint<LaunchCheckpoint>(join(dir, CHECKPOINT.launch));
      const config = launched?.config;
      const init = readCheckpoint<InitCheckpoint>(join(dir, CHECKPOINT.init));
      if (!config || !init) {
        orphans.push(id);
        this.track(id, 'DESTROYING', config);
        continue;
      }
      states.push({
        container_id: id,
        pid: init.pid,
        directory: config.directory,
        runtime_directory: dir,
        config,
      });
      expected.push({
        id,
        pid: init.pid,
        startTime: init.start_time,
        statusFile: join(dir, CHECKPOINT.status),
      });
      const container = this.track(id, 'RUNNING', config);
      container.pid = init.pid;
      container.startTime = init.start_time;
      if (launched?.privileges) container.privileges = launched.privileges;
    }

    const { running, orphans: untracked } = await this.launcher.recover(expected);
    for (const id of untracked) {
      if (this.containers.has(containerIdToString(id))) continue;
      orphans.push(id);
      this.track(id, 'DESTROYING');
    }

    await Promise.all(this.isolators.map(({ isolator }) => isolator.recover?.(states, orphans)));

    for (const state of states) {
      const container = this.known(state.container_id);
      // Not running: it exited while the agent was down, and its init recorded the status.
      const exitStatus =
        running.get(container.key) ??
        readExitStatus(join(state.runtime_directory, CHECKPOINT.status));
      this.watch(container);
      this.onExit(container, exitStatus);
    }
    await Promise.all(
      orphans.map((id) => {
        this.logger.info('destroying orphan container', { container: containerIdToString(id) });
        const container = this.known(id);
        return this.queue.run(container.key, () => this.destroyNow(container));
      }),
    );
    return { recovered: states.map((state) => state.container_id), orphans };
  }
}
