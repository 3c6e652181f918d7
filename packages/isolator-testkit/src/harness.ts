import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ContainerConfig,
  type ContainerID,
  containerIdToString,
  type Isolator,
  type IsolatorContext,
  type IsolatorDefinition,
  type MaybePromise,
  parseFlags,
  silentLogger,
} from '@corral/core';
import { type ContractRule, ContractViolationError, messageOf, RULES, step } from './rules.ts';

/** A container the kit made up: its id and the directories the containerizer would create. */
export interface ContainerPaths {
  readonly id: ContainerID;
  /** The sandbox, `<agent work dir>/<id>`. */
  readonly directory: string;
  /** `<agent runtime dir>/containers/<id>`, the containerizer's layout. */
  readonly runtime_directory: string;
}

/** The container's init as far as the kit is concerned: a pid to isolate, and how to end it. */
export interface ContainerProcess {
  readonly pid: number;
  /** Ends the process and everything it started; resolves once they are gone. */
  stop(): MaybePromise<void>;
}

/** What a probe gets besides the id: the instance that owns the container, its context, paths. */
export interface ProbeTarget {
  readonly isolator: Isolator;
  readonly context: IsolatorContext;
  readonly directory: string;
  readonly runtime_directory: string;
}

/**
 * Lists what the isolator still holds for container `id` on the host or in itself (cgroups,
 * handles, mounts, files, …), one line per resource; `[]` when nothing remains.
 */
export type Probe = (id: ContainerID, target: ProbeTarget) => MaybePromise<readonly string[]>;

/** How to build and exercise one isolator of the manifest. */
export interface LifecycleOptions {
  /** Raw flag values, without `--`, as an operator passes them: `{ acme_quota_max: '10' }`. */
  readonly flags?: Readonly<Record<string, string>>;
  /**
   * Replaces parts of the context the kit builds (a silent logger and, in a fresh temp dir, the
   * agent's work and runtime dirs and `<runtime dir>/isolators/<name>`).
   */
  readonly context?: Partial<IsolatorContext>;
  /** A container that should launch. Default: the shell command `sleep 3600`. */
  readonly config?: (paths: ContainerPaths) => ContainerConfig;
  /** A container whose `prepare` must fail; enables the failed-prepare rule. */
  readonly invalidConfig?: (paths: ContainerPaths) => ContainerConfig;
  /** The process passed to `isolate`. Default: a spawned `sleep`, killed before `cleanup`. */
  readonly spawnInit?: (paths: ContainerPaths) => MaybePromise<ContainerProcess>;
  readonly probe: Probe;
  /**
   * The isolator holds something for every running container that the probe can see. The kit then
   * also requires the probe to find it while the container runs, so a probe that always answers
   * `[]` cannot hide a leak.
   */
  readonly holdsResources?: boolean;
}

async function spawnSleep(): Promise<ContainerProcess> {
  const child: ChildProcess = spawn('sleep', ['3600'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawning sleep gave no pid');
  const exited = once(child, 'exit');
  return {
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function defaultConfig({ directory, runtime_directory }: ContainerPaths): ContainerConfig {
  return { command_info: { value: 'sleep 3600' }, directory, runtime_directory };
}

/**
 * One rule's run: a temp dir laid out like an agent's, the isolator instances built from the
 * definition, and everything to undo. `dispose` stops every process and cleans up every container
 * not yet cleaned up (each at most once, by the instance that owns it), even after a failure.
 */
export class Bench {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-conformance-'));
  readonly workDir = join(this.dir, 'work');
  readonly agentRuntimeDir = join(this.dir, 'runtime');
  readonly definition: IsolatorDefinition;
  readonly options: LifecycleOptions;
  readonly #processes = new Set<ContainerProcess>();
  /** Containers prepared (or recovered) and not yet cleaned up, with the instance that owns them. */
  readonly #open = new Map<string, { id: ContainerID; isolator: Isolator }>();

  constructor(definition: IsolatorDefinition, options: LifecycleOptions) {
    this.definition = definition;
    this.options = options;
  }

  context(): IsolatorContext {
    const values = parseFlags(this.definition.flags ?? {}, this.options.flags ?? {});
    const runtimeDir = join(this.agentRuntimeDir, 'isolators', this.definition.name);
    mkdirSync(runtimeDir, { recursive: true });
    const { cgroups_hierarchy: hierarchy, cgroups_root: root } = values as Record<string, unknown>;
    return {
      name: this.definition.name,
      logger: silentLogger,
      runtimeDir,
      cgroups: {
        hierarchy: typeof hierarchy === 'string' ? hierarchy : '/sys/fs/cgroup',
        root: typeof root === 'string' ? root : 'corral',
      },
      agent: { workDir: this.workDir, runtimeDir: this.agentRuntimeDir },
      ...this.options.context,
    };
  }

  /** A new instance, as an agent (re)start builds it: flags parsed from their raw values. */
  async create(): Promise<Isolator> {
    const isolator = await step(RULES.create, `create() of '${this.definition.name}'`, () =>
      this.definition.create(
        parseFlags(this.definition.flags ?? {}, this.options.flags ?? {}),
        this.context(),
      ),
    );
    if (typeof isolator !== 'object' || isolator === null) {
      throw new ContractViolationError(RULES.create, `create() gave ${String(isolator)}`);
    }
    return isolator;
  }

  container(label: string): ContainerPaths {
    const value = `${label}-${randomBytes(4).toString('hex')}`;
    const paths = {
      id: { value },
      directory: join(this.workDir, value),
      runtime_directory: join(this.agentRuntimeDir, 'containers', value),
    };
    mkdirSync(paths.directory, { recursive: true });
    mkdirSync(paths.runtime_directory, { recursive: true });
    return paths;
  }

  config(paths: ContainerPaths): ContainerConfig {
    return (this.options.config ?? defaultConfig)(paths);
  }

  async spawn(paths: ContainerPaths): Promise<ContainerProcess> {
    const init = await (this.options.spawnInit ?? spawnSleep)(paths);
    this.#processes.add(init);
    return init;
  }

  /** The container's processes are gone, as the engine guarantees before `cleanup`. */
  async stop(init: ContainerProcess): Promise<void> {
    this.#processes.delete(init);
    await init.stop();
  }

  /** `isolator` now owns `id`: `dispose` cleans it up there unless the rule did. */
  own(isolator: Isolator, id: ContainerID): void {
    this.#open.set(containerIdToString(id), { id, isolator });
  }

  /** Cleans up `id` on its owner, once; the containerizer then removes the runtime dir. */
  async cleanup(rule: ContractRule, paths: ContainerPaths): Promise<void> {
    const key = containerIdToString(paths.id);
    const owner = this.#open.get(key);
    if (owner === undefined) throw new Error(`container '${key}' is not open on the bench`);
    this.#open.delete(key);
    await step(rule, `cleanup(${key})`, () => owner.isolator.cleanup?.(paths.id));
    rmSync(paths.runtime_directory, { recursive: true, force: true });
  }

  /** What the probe finds for `paths` on `isolator`. */
  async probe(isolator: Isolator, paths: ContainerPaths): Promise<readonly string[]> {
    const { id, directory, runtime_directory } = paths;
    try {
      const context = this.context();
      return await this.options.probe(id, { isolator, context, directory, runtime_directory });
    } catch (error) {
      throw new Error(`the probe threw for '${containerIdToString(id)}': ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (const init of this.#processes) {
      await Promise.resolve()
        .then(() => init.stop())
        .catch((error: unknown) => errors.push(error));
    }
    this.#processes.clear();
    for (const [key, { id, isolator }] of this.#open) {
      this.#open.delete(key);
      await Promise.resolve()
        .then(() => isolator.cleanup?.(id))
        .catch((error: unknown) => errors.push(error));
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) {
      throw new AggregateError(errors, `cleaning up after the conformance run failed`);
    }
  }
}
