import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cgroupExists,
  destroyCgroup,
  findCgroup2Mount,
  findV1Hierarchy,
  listChildCgroups,
} from '@corral/cgroupfs';
import { Containerizer, type LaunchRequest } from '@corral/containerizer';
import {
  type ContainerTermination,
  cgroupsFlags,
  type Isolator,
  type IsolatorContext,
  type Logger,
  parseFlags,
  silentLogger,
} from '@corral/core';
import { createLauncher } from '@corral/launcher';
import { runFixture } from '@corral/test-support/fixture';
import { describeOnKernel, type KernelPrerequisites } from '@corral/test-support/kernel';
import { recordTerminations } from '@corral/test-support/terminations';
import { afterEach, beforeEach, expect } from 'vitest';
import manifest from '../src/index.ts';

export const CGROUPS_HIERARCHY = '/sys/fs/cgroup';
export type CgroupIsolatorName = 'cgroups/cpu' | 'cgroups/mem' | 'cgroups/pids';
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/launch-detached.ts', import.meta.url));

/** Every hierarchy a container of these tests can have a cgroup in (v1 here, plus the launcher's). */
export function allHierarchies(): string[] {
  const found = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer'].map((s) => findV1Hierarchy(s));
  return [...new Set([...found, findCgroup2Mount()])].filter((h): h is string => h !== undefined);
}

/** The isolators exactly as the agent builds them: raw flag strings through the manifest. */
export async function createIsolators(
  names: readonly CgroupIsolatorName[],
  root: string,
  flags: Readonly<Record<string, string>>,
  logger: Logger = silentLogger,
): Promise<{ name: string; isolator: Isolator }[]> {
  const isolators: { name: string; isolator: Isolator }[] = [];
  for (const name of names) {
    const definition = manifest.isolators.find((candidate) => candidate.name === name);
    if (definition === undefined) throw new Error(`no ${name} in the manifest`);
    const own = Object.fromEntries(
      Object.entries(flags).filter(([flag]) => flag in (definition.flags ?? {})),
    );
    const values = parseFlags(
      { ...cgroupsFlags, ...definition.flags },
      { cgroups_hierarchy: CGROUPS_HIERARCHY, cgroups_root: root, ...own },
    );
    const context: IsolatorContext = {
      name,
      logger,
      runtimeDir: tmpdir(),
      cgroups: { hierarchy: CGROUPS_HIERARCHY, root },
      agent: { workDir: tmpdir(), runtimeDir: tmpdir() },
    };
    isolators.push({ name, isolator: await definition.create(values, context) });
  }
  return isolators;
}

/** A container running `script` with sh, with these resources and limits. */
export function shell(
  directory: string,
  script: string,
  resources: Readonly<Record<string, number>> = {},
  limits: Readonly<Record<string, number>> = {},
): LaunchRequest {
  return {
    command_info: { value: script },
    directory,
    resources: Object.entries(resources).map(([name, value]) => ({
      name,
      type: 'SCALAR' as const,
      scalar: { value },
    })),
    limits: Object.fromEntries(Object.entries(limits).map(([name, value]) => [name, { value }])),
  };
}

/**
 * One test's world: a unique cgroups root, a runtime dir and every containerizer made for it.
 * `dispose()` destroys all containers, reports the cgroups left under the root in any hierarchy,
 * then removes the root everywhere, so nothing leaks even when a test fails.
 */
export class World {
  readonly root = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-cgroups-'));
  readonly runtimeDir = join(this.dir, 'runtime');
  readonly #containerizers: Containerizer[] = [];

  sandbox(name: string): string {
    return join(this.dir, 'sandboxes', name);
  }

  cgroupOf(name: string): string {
    return `${this.root}/${name}`;
  }

  async start(
    names: readonly CgroupIsolatorName[],
    flags: Readonly<Record<string, string>> = {},
  ): Promise<{
    containerizer: Containerizer;
    isolators: { name: string; isolator: Isolator }[];
    /** Resolves with the termination of container `value`, even if it ended already. */
    ended: (value: string) => Promise<ContainerTermination>;
  }> {
    const isolators = await createIsolators(names, this.root, flags);
    const containerizer = new Containerizer({
      runtimeDir: this.runtimeDir,
      launcher: createLauncher({ kind: 'linux', cgroupsRoot: this.root }),
      isolators,
    });
    this.#containerizers.push(containerizer);
    const ended = recordTerminations(containerizer);
    return { containerizer, isolators, ended };
  }

  /** Launches `ids` from another process that then exits, leaving them running (an agent stop). */
  async launchDetached(
    names: readonly CgroupIsolatorName[],
    flags: Readonly<Record<string, string>>,
    containers: Readonly<Record<string, LaunchRequest>>,
  ): Promise<void> {
    await runFixture(
      FIXTURE,
      {
        root: this.root,
        runtimeDir: this.runtimeDir,
        names,
        flags,
        containers,
      },
      PACKAGE_DIR,
    );
  }

  /** Cgroups under the root, in any hierarchy, as `<hierarchy>:<cgroup>`. */
  leftovers(): string[] {
    return allHierarchies().flatMap((hierarchy) =>
      cgroupExists(hierarchy, this.root)
        ? listChildCgroups(hierarchy, this.root).map((cgroup) => `${hierarchy}:${cgroup}`)
        : [],
    );
  }

  /** Destroys everything; returns the cgroups that were left after the containers went. */
  async dispose(): Promise<string[]> {
    for (const containerizer of this.#containerizers) {
      await Promise.allSettled(containerizer.list().map((id) => containerizer.destroy(id)));
    }
    const left = this.leftovers();
    for (const hierarchy of allHierarchies()) {
      await destroyCgroup(hierarchy, this.root, { timeoutMs: 10_000 });
    }
    rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}

/**
 * `describeOnKernel` with a fresh `World` for every test, disposed after it even when it fails;
 * a test fails if any cgroup was left under its root.
 */
export function describeWithWorld(
  title: string,
  needs: KernelPrerequisites,
  suite: (world: () => World) => void,
): void {
  describeOnKernel(title, { root: true, ...needs }, () => {
    let current: World | undefined;
    beforeEach(() => {
      current = new World();
    });
    afterEach(async () => {
      expect(await current?.dispose()).toEqual([]);
    });
    suite(() => current as World);
  });
}
