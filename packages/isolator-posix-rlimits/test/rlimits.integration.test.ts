import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containerizer } from '@corral/containerizer';
import {
  type ContainerTermination,
  InvalidContainerConfigError,
  type RLimit,
  silentLogger,
} from '@corral/core';
import { describeOnHost } from '@corral/isolator-testkit';
import { createLauncher, LinuxLauncher } from '@corral/launcher';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { posixRlimits } from '../src/index.ts';

/** One agent's worth of machinery: a launcher of `kind`, a containerizer with posix/rlimits. */
class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-rlimits-it-'));
  readonly cgroupsRoot = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly launcher;
  containerizer: Containerizer | undefined;

  constructor(kind: 'linux' | 'posix') {
    this.launcher = createLauncher({ kind, cgroupsRoot: this.cgroupsRoot });
  }

  async start(): Promise<Containerizer> {
    const runtimeDir = join(this.dir, 'runtime');
    const isolator = await posixRlimits.create(
      {},
      {
        name: posixRlimits.name,
        logger: silentLogger,
        runtimeDir: join(runtimeDir, 'isolators', posixRlimits.name),
        cgroups: { hierarchy: '/sys/fs/cgroup', root: this.cgroupsRoot },
        agent: { workDir: join(this.dir, 'work'), runtimeDir },
      },
    );
    this.containerizer = new Containerizer({
      runtimeDir,
      launcher: this.launcher,
      isolators: [{ name: posixRlimits.name, isolator }],
      logger: silentLogger,
    });
    return this.containerizer;
  }

  sandbox(name: string): string {
    return join(this.dir, 'work', name);
  }

  /** Runs `command` as container `name` with `rlimits`; resolves when it has ended. */
  async run(name: string, command: string, rlimits: readonly RLimit[]) {
    const containerizer = this.containerizer ?? (await this.start());
    const ended = new Promise<ContainerTermination>((resolve) => {
      const unsubscribe = containerizer.onEvent((event) => {
        if (event.to === 'TERMINATED' && event.id.value === name) {
          unsubscribe();
          resolve(event.termination);
        }
      });
    });
    await containerizer.launch(
      { value: name },
      {
        command_info: { value: command },
        container_info: { rlimit_info: { rlimits } },
        directory: this.sandbox(name),
      },
    );
    const termination = await ended;
    const read = (file: string) => {
      const path = join(this.sandbox(name), file);
      return existsSync(path) ? readFileSync(path, 'utf8') : '';
    };
    return { termination, stdout: read('stdout'), stderr: read('stderr') };
  }

  async dispose(): Promise<void> {
    const containerizer = this.containerizer;
    if (containerizer) {
      await Promise.allSettled(containerizer.list().map((id) => containerizer.destroy(id)));
    }
    if (this.launcher instanceof LinuxLauncher) {
      const root = join(await this.launcher.hierarchy(), this.cgroupsRoot);
      if (existsSync(root)) rmdirSync(root);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const NOFILE_64_128: RLimit = { type: 'RLMT_NOFILE', soft: 64, hard: 128 };

for (const [kind, requires] of [
  // The agent's default launcher as root: cgroup tracking, namespaces available.
  ['linux', { root: true, linux: true }],
  // Lowering limits needs no privilege, so this runs for any user.
  ['posix', { linux: true }],
] as const) {
  describeOnHost(`posix/rlimits in real containers (${kind} launcher)`, requires, () => {
    let world: World;
    beforeEach(() => {
      world = new World(kind);
    });
    afterEach(async () => {
      await world.dispose();
    });

    it('applies RLMT_NOFILE soft 64 hard 128 before the command runs', async () => {
      const { termination, stdout, stderr } = await world.run('nofile', 'ulimit -n; ulimit -Hn', [
        NOFILE_64_128,
      ]);
      expect(stderr).toBe('');
      expect(stdout).toBe('64\n128\n');
      expect(termination.state).toBe('TASK_FINISHED');
    });

    if (kind === 'linux') {
      it('takes neither soft nor hard as unlimited (raising needs root)', async () => {
        const { stdout } = await world.run('core', 'ulimit -c; ulimit -Hc', [
          { type: 'RLMT_CORE' },
        ]);
        expect(stdout).toBe('unlimited\nunlimited\n');
      });
    }

    it('refuses soft above hard at launch: nothing runs and nothing is left', async () => {
      const launch = world.run('inverted', 'touch ran', [
        { type: 'RLMT_NOFILE', soft: 256, hard: 128 },
      ]);
      await expect(launch).rejects.toThrow(InvalidContainerConfigError);
      await expect(launch).rejects.toThrow(
        "'container.rlimit_info.rlimits[0]' is invalid: RLMT_NOFILE soft limit 256 is above its hard limit 128",
      );
      expect(world.containerizer?.list()).toEqual([]);
      expect(existsSync(join(world.sandbox('inverted'), 'ran'))).toBe(false);
    });
  });
}
