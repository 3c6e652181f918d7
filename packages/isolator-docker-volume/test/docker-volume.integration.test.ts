import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containerizer } from '@corral/containerizer';
import { type ContainerTermination, silentLogger, type Volume } from '@corral/core';
import { describeOnHost } from '@corral/isolator-testkit';
import { VolumePluginDouble } from '@corral/isolator-testkit/volume-plugin';
import { createLauncher, type LinuxLauncher } from '@corral/launcher';
import { recordTerminations } from '@corral/test-support/terminations';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { dockerVolume } from '../src/index.ts';

/** Mounts under `dir` in this (the host's) mount namespace. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(dir));
}

/** An agent's worth of machinery with docker/volume, and a plugin double serving tmpfs volumes. */
class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-docker-volume-it-'));
  readonly cgroupsRoot = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly launcher = createLauncher({
    kind: 'linux',
    cgroupsRoot: this.cgroupsRoot,
  }) as LinuxLauncher;
  plugin!: VolumePluginDouble;
  containerizer!: Containerizer;
  ended!: (value: string) => Promise<ContainerTermination>;

  async start(timeoutSeconds = 5): Promise<void> {
    this.plugin ??= await VolumePluginDouble.start({
      name: 'acme',
      socketDir: join(this.dir, 'plugins'),
      root: join(this.dir, 'volumes'),
      tmpfs: true,
    });
    const runtimeDir = join(this.dir, 'runtime');
    const isolator = await dockerVolume.create(
      {
        docker_volume_plugin_dirs: join(this.dir, 'plugins'),
        docker_volume_spec_dirs: join(this.dir, 'specs'),
        docker_volume_checkpoint_dir: join(this.dir, 'checkpoints'),
        docker_volume_timeout: timeoutSeconds,
      },
      {
        name: dockerVolume.name,
        logger: silentLogger,
        runtimeDir: join(runtimeDir, 'isolators', 'docker', 'volume'),
        cgroups: { hierarchy: '/sys/fs/cgroup', root: this.cgroupsRoot },
        agent: { workDir: join(this.dir, 'work'), runtimeDir },
      },
    );
    const containerizer = new Containerizer({
      runtimeDir,
      launcher: this.launcher,
      isolators: [{ name: dockerVolume.name, isolator }],
      logger: silentLogger,
    });
    this.containerizer = containerizer;
    this.ended = recordTerminations(containerizer);
    await this.containerizer.recover();
  }

  sandbox(name: string): string {
    return join(this.dir, 'work', name);
  }

  /** Launches `command` with `volumes` and resolves with its termination once it has ended. */
  async launch(name: string, command: string, volumes: readonly Volume[]) {
    await this.containerizer.launch(
      { value: name },
      {
        command_info: { value: command },
        container_info: { volumes },
        directory: this.sandbox(name),
      },
    );
    return this.ended(name);
  }

  stdout(name: string): string {
    return readFileSync(join(this.sandbox(name), 'stdout'), 'utf8');
  }

  /** Nothing is left: no mount, no checkpoint, every Mount matched by an Unmount of its ID. */
  expectNothingLeft(): void {
    expect(mountsUnder(join(this.dir, 'work'))).toEqual([]);
    expect(readdirSync(join(this.dir, 'checkpoints'))).toEqual([]);
    const ids = (method: string) =>
      this.plugin
        .callsOf(method)
        .map((call) => `${String(call.body.Name)} ${String(call.body.ID)}`)
        .sort();
    expect(ids('VolumeDriver.Unmount')).toEqual(ids('VolumeDriver.Mount'));
  }

  async dispose(): Promise<void> {
    if (this.containerizer) {
      await Promise.allSettled(
        this.containerizer.list().map((id) => this.containerizer.destroy(id)),
      );
    }
    await this.plugin?.stop();
    const root = join(await this.launcher.hierarchy(), this.cgroupsRoot);
    if (existsSync(root)) rmdirSync(root);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const volume = (name: string, containerPath: string, mode: 'RW' | 'RO' = 'RW'): Volume => ({
  mode,
  container_path: containerPath,
  source: { type: 'DOCKER_VOLUME', docker_volume: { driver: 'acme', name } },
});

describeOnHost(
  'docker/volume in real containers',
  { root: true, linux: true, namespaces: ['mnt'] },
  () => {
    let world: World;
    beforeEach(() => {
      world = new World();
    });
    afterEach(async () => {
      await world.dispose();
    });

    it('shows the plugin files at relative and absolute targets, only inside the container', async () => {
      await world.start();
      world.plugin.addVolume('data', { 'hello.txt': 'from the plugin' });
      const absolute = join(world.dir, 'abs');
      mkdirSync(absolute);
      const ended = await world.launch(
        'reader',
        `cat tmp/foo/hello.txt; echo; touch tmp/foo/written ${absolute}/written; grep -c " ${absolute} " /proc/self/mountinfo`,
        [volume('data', 'tmp/foo'), volume('fresh', absolute)],
      );
      expect((await ended).state).toBe('TASK_FINISHED');
      expect(world.stdout('reader')).toBe('from the plugin\n1\n');
      expect(existsSync(join(world.dir, 'volumes', 'data', 'written'))).toBe(true);
      expect(existsSync(join(world.dir, 'volumes', 'fresh', 'written'))).toBe(true);
      // The host's view of the targets never had the volumes.
      expect(readdirSync(join(world.sandbox('reader'), 'tmp', 'foo'))).toEqual([]);
      expect(readdirSync(absolute)).toEqual([]);
      world.expectNothingLeft();
    });

    it('refuses writes to a read-only volume and to its submount with EROFS', async () => {
      await world.start();
      const mountpoint = world.plugin.addVolume('ro');
      const sub = join(mountpoint, 'sub');
      mkdirSync(sub);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]);
      try {
        const ended = await world.launch(
          'writer',
          'touch v/top 2>&1; touch v/sub/deep 2>&1; true',
          [volume('ro', 'v', 'RO')],
        );
        await ended;
        const lines = world.stdout('writer').trim().split('\n');
        expect(lines).toHaveLength(2);
        for (const line of lines) expect(line).toMatch(/Read-only file system/);
        expect(readdirSync(sub)).toEqual([]);
      } finally {
        execFileSync('umount', [sub]);
      }
      world.expectNothingLeft();
    });

    it('fails the launch on a hung plugin after the timeout, leaving nothing behind', async () => {
      await world.start(1);
      world.plugin.fail('VolumeDriver.Mount', { kind: 'hang' });
      const started = performance.now();
      await expect(world.launch('hung', 'touch ran', [volume('slow', 's')])).rejects.toThrow(
        /VolumeDriver.Mount got no answer within 1 s/,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(existsSync(join(world.sandbox('hung'), 'ran'))).toBe(false);
      expect(world.containerizer.list()).toEqual([]);
      world.expectNothingLeft();
    });

    it('refuses a path escaping through a symlink before anything is mounted', async () => {
      await world.start();
      mkdirSync(world.sandbox('escape'), { recursive: true });
      execFileSync('ln', ['-s', '/etc', join(world.sandbox('escape'), 'out')]);
      writeFileSync(join(world.dir, 'marker'), '');
      await expect(world.launch('escape', 'true', [volume('x', 'out/x')])).rejects.toThrow(
        /'container.volumes\[0\].container_path' is invalid: 'out\/x' resolves through a symlink/,
      );
      expect(world.plugin.callsOf('VolumeDriver.Mount')).toEqual([]);
      world.expectNothingLeft();
    });
  },
);
