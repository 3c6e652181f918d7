import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Containerizer } from '@corral/containerizer';
import {
  type ContainerID,
  type ContainerTermination,
  type Isolator,
  type LinuxInfo,
  parseFlags,
  silentLogger,
} from '@corral/core';
import { createLauncher, type Launcher, LinuxLauncher } from '@corral/launcher';
import { ipcFlags } from '../src/flags.ts';
import { namespacesIpc } from '../src/manifest.ts';
import { unmountAll } from '../src/mount-table.ts';

export type SysvKind = 'q' | 's' | 'm';

/** One SysV IPC object as `ipcs` lists it. */
export interface SysvObject {
  readonly key: string;
  readonly id: number;
}

/** Parses `ipcs -q|-s|-m` output: every table row starts with the key (0x…) and the id. */
export function parseIpcs(text: string): SysvObject[] {
  const objects: SysvObject[] = [];
  for (const line of text.split('\n')) {
    const match = /^(0x[0-9a-f]+)\s+(\d+)\s/.exec(line);
    if (match?.[1] && match[2]) objects.push({ key: match[1], id: Number(match[2]) });
  }
  return objects;
}

/** The SysV objects of one kind in the test's (the host's) IPC namespace. */
export function hostSysv(kind: SysvKind): SysvObject[] {
  return parseIpcs(execFileSync('ipcs', [`-${kind}`], { encoding: 'utf8' }));
}

/** The id `ipcmk` printed ("Message queue id: 3"). */
export function ipcmkId(output: string): number {
  const match = /id: (\d+)/.exec(output);
  if (!match?.[1]) throw new Error(`unexpected ipcmk output: ${JSON.stringify(output)}`);
  return Number(match[1]);
}

export const SYSV_KINDS: readonly SysvKind[] = ['q', 's', 'm'];

/**
 * Shell lines that make a SysV message queue, semaphore set and shared memory segment and record
 * them in the sandbox: the ids ipcmk printed (`<kind>.id`) and the `ipcs` table right after
 * (`made.<kind>`), which gives each object's key.
 */
export const MAKE_SYSV_OBJECTS = [
  'ipcmk -Q > q.id',
  'ipcmk -S 1 > s.id',
  'ipcmk -M 4096 > m.id',
  ...SYSV_KINDS.map((kind) => `ipcs -${kind} > made.${kind}`),
].join('\n');

/** The objects `MAKE_SYSV_OBJECTS` recorded in `sandbox`, by kind (those it got to make). */
export function sysvMadeIn(sandbox: string): Partial<Record<SysvKind, SysvObject>> {
  const made: Partial<Record<SysvKind, SysvObject>> = {};
  for (const kind of SYSV_KINDS) {
    const idFile = join(sandbox, `${kind}.id`);
    const tableFile = join(sandbox, `made.${kind}`);
    if (!existsSync(idFile) || !existsSync(tableFile)) continue;
    const id = ipcmkId(readFileSync(idFile, 'utf8'));
    const object = parseIpcs(readFileSync(tableFile, 'utf8')).find((o) => o.id === id);
    if (object) made[kind] = object;
  }
  return made;
}

export function ipcNamespaceOf(pid: number | 'self'): string {
  return execFileSync('readlink', [`/proc/${pid}/ns/ipc`], { encoding: 'utf8' }).trim();
}

/**
 * True while `pid` runs. A zombie does not count: it has already dropped its namespaces, and an
 * init orphaned by a stopped agent stays one until the host's pid 1 reaps it.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The exit code of a raw wait(2) status, undefined when the command died of a signal. */
export function exitCode(termination: ContainerTermination): number | undefined {
  const { status } = termination;
  return status !== undefined && (status & 0x7f) === 0 ? status >> 8 : undefined;
}

const POSIX_MQ_SOURCE = fileURLToPath(new URL('./fixtures/posix-mq.c', import.meta.url));

/** Compiles the POSIX message queue helper into `dir`; returns its path. */
export function buildPosixMq(dir: string): string {
  const binary = join(dir, 'posix-mq');
  execFileSync('cc', [
    '-std=c11',
    '-O2',
    '-Wall',
    '-Werror',
    '-o',
    binary,
    POSIX_MQ_SOURCE,
    '-lrt',
  ]);
  return binary;
}

/** `posix-mq exists` in the test's IPC namespace: true, false, or an error. */
export function hostHasPosixQueue(posixMq: string, name: string): boolean {
  const { status, stderr } = spawnSync(posixMq, ['exists', name], { encoding: 'utf8' });
  if (status === 0) return true;
  if (status === 1) return false;
  throw new Error(`posix-mq exists ${name} failed: ${stderr}`);
}

/**
 * One agent's worth of real machinery per test: a linux launcher with its own cgroups root, a
 * containerizer with its own runtime dir, and the namespaces/ipc isolator. `dispose` destroys
 * every container and removes everything the test made on the host, even after a failure.
 */
export class Harness {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-ipc-it-'));
  readonly runtimeDir = join(this.dir, 'runtime');
  readonly cgroupsRoot = unique('corral-test');
  readonly launcher: Launcher = createLauncher({ kind: 'linux', cgroupsRoot: this.cgroupsRoot });
  readonly #containerizers: Containerizer[] = [];
  readonly #cleanups: (() => void)[] = [];

  /** A containerizer over this harness' runtime dir and launcher. */
  containerizer(isolator: Isolator): Containerizer {
    const containerizer = new Containerizer({
      runtimeDir: this.runtimeDir,
      launcher: this.launcher,
      isolators: [{ name: 'namespaces/ipc', isolator }],
      logger: silentLogger,
    });
    this.#containerizers.push(containerizer);
    return containerizer;
  }

  /** The isolator as the agent builds it, from raw flag values. */
  async isolator(flags: Readonly<Record<string, string>> = {}): Promise<Isolator> {
    return namespacesIpc.create(parseFlags(ipcFlags, flags), {
      name: 'namespaces/ipc',
      logger: silentLogger,
      runtimeDir: join(this.runtimeDir, 'isolators', 'namespaces_ipc'),
      cgroups: { hierarchy: '/sys/fs/cgroup', root: this.cgroupsRoot },
      agent: { workDir: join(this.dir, 'work'), runtimeDir: this.runtimeDir },
    });
  }

  /** The sandbox of container `name`: the commands write their findings here. */
  sandbox(name: string): string {
    return join(this.dir, 'work', name);
  }

  /** Launches `command` (a shell command run in the sandbox) as container `name`. */
  async launch(
    containerizer: Containerizer,
    name: string,
    command: string,
    linux?: LinuxInfo,
  ): Promise<ContainerID> {
    const id = { value: name };
    await containerizer.launch(id, {
      command_info: { value: command },
      directory: this.sandbox(name),
      ...(linux === undefined ? {} : { container_info: { linux_info: linux } }),
    });
    return id;
  }

  /** Launches container `name` and resolves with its termination once its command has exited. */
  async run(
    containerizer: Containerizer,
    name: string,
    command: string,
    linux?: LinuxInfo,
  ): Promise<ContainerTermination> {
    const terminated = new Promise<ContainerTermination>((resolve) => {
      const unsubscribe = containerizer.onEvent((event) => {
        if (event.to === 'TERMINATED' && event.id.value === name) {
          unsubscribe();
          resolve(event.termination);
        }
      });
    });
    await this.launch(containerizer, name, command, linux);
    return terminated;
  }

  /**
   * Waits until container `name` has written `file` into its sandbox; fails early, with the
   * container's stderr, if the container ends first.
   */
  async untilWritten(
    containerizer: Containerizer,
    name: string,
    file: string,
    timeoutMs = 10_000,
  ): Promise<void> {
    const path = join(this.sandbox(name), file);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(path)) {
      if (containerizer.snapshot({ value: name }) === undefined && !existsSync(path)) {
        const stderr = existsSync(join(this.sandbox(name), 'stderr'))
          ? this.read(name, 'stderr')
          : '';
        throw new Error(`container '${name}' ended before writing ${file}; stderr: ${stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
      await sleep(20);
    }
  }

  /** Reads a result file the container wrote into its sandbox. */
  read(name: string, file: string): string {
    return readFileSync(join(this.sandbox(name), file), 'utf8');
  }

  /** Registers host-side cleanup (ipcrm, unlinking, unmounting) to run in `dispose`. */
  onDispose(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  /**
   * If isolation failed, the SysV objects containers made are on the host: remove them, by key
   * (random, so never another test's object), so that a failing run leaves the host clean.
   */
  #removeLeakedSysvObjects(): void {
    const work = join(this.dir, 'work');
    if (!existsSync(work)) return;
    const flag = { q: '-Q', s: '-S', m: '-M' } as const;
    for (const name of readdirSync(work)) {
      for (const [kind, object] of Object.entries(sysvMadeIn(join(work, name)))) {
        const sysvKind = kind as SysvKind;
        if (hostSysv(sysvKind).some((host) => host.key === object.key)) {
          execFileSync('ipcrm', [flag[sysvKind], object.key]);
        }
      }
    }
  }

  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (const containerizer of this.#containerizers) {
      for (const id of containerizer.list()) {
        await containerizer.destroy(id).catch((error: unknown) => errors.push(error));
      }
    }
    try {
      this.#removeLeakedSysvObjects();
    } catch (error) {
      errors.push(error);
    }
    for (const cleanup of this.#cleanups.reverse()) {
      try {
        cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    if (this.launcher instanceof LinuxLauncher) {
      const root = join(await this.launcher.hierarchy(), this.cgroupsRoot);
      if (existsSync(root)) rmdirSync(root);
    }
    // A mount left under the temp dir would make rmSync fail half-way: unmount first.
    await unmountAll(this.dir).catch((error: unknown) => errors.push(error));
    rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, 'test cleanup failed');
  }
}
