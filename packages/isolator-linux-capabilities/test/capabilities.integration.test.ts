import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containerizer } from '@corral/containerizer';
import {
  type ContainerConfig,
  InvalidContainerConfigError,
  type LinuxInfo,
  silentLogger,
} from '@corral/core';
import { PosixLauncher } from '@corral/launcher';
import { describeOnKernel } from '@corral/test-support/kernel';
import { processPrivileges } from '@corral/test-support/proc-status';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { linuxCapabilities } from '../src/index.ts';

/** An engine with linux/capabilities created from `flags` (raw, as the agent passes them). */
class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-caps-it-'));
  containerizer: Containerizer | undefined;

  async start(flags: Record<string, string> = {}): Promise<Containerizer> {
    const values = Object.fromEntries(
      Object.entries(linuxCapabilities.flags ?? {}).map(([name, spec]) => [
        name,
        flags[name] === undefined ? undefined : spec.parse(flags[name]),
      ]),
    );
    const runtimeDir = join(this.dir, 'runtime');
    const isolator = await linuxCapabilities.create(values as never, {
      name: linuxCapabilities.name,
      logger: silentLogger,
      runtimeDir: join(runtimeDir, 'isolators', 'linux-capabilities'),
      cgroups: { hierarchy: '/sys/fs/cgroup', root: 'unused' },
      agent: { workDir: join(this.dir, 'work'), runtimeDir },
    });
    this.containerizer = new Containerizer({
      runtimeDir,
      launcher: new PosixLauncher(),
      isolators: [{ name: linuxCapabilities.name, isolator }],
      logger: silentLogger,
    });
    return this.containerizer;
  }

  sandbox(name: string): string {
    return join(this.dir, 'work', name);
  }

  config(name: string, command: string, linuxInfo: LinuxInfo, user?: string) {
    return {
      command_info: { value: command, ...(user ? { user } : {}) },
      container_info: { linux_info: linuxInfo },
      directory: this.sandbox(name),
    } satisfies Omit<ContainerConfig, 'runtime_directory'>;
  }

  /** What the kernel and the status report for a sleeping command with `linuxInfo`. */
  async inspect(name: string, linuxInfo: LinuxInfo, user?: string) {
    const containerizer = this.containerizer ?? (await this.start());
    const id = { value: name };
    await containerizer.launch(id, this.config(name, 'sleep 30', linuxInfo, user));
    const init = containerizer.snapshot(id)?.pid ?? 0;
    const command = Number(readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim());
    const kernel = processPrivileges(command);
    const status = await containerizer.status(id);
    await containerizer.destroy(id);
    return { kernel, privileges: status.privileges };
  }

  /** Runs `command` to its end; resolves with its exit status and stderr. */
  async run(name: string, command: string, linuxInfo: LinuxInfo) {
    const containerizer = this.containerizer ?? (await this.start());
    const id = { value: name };
    await containerizer.launch(id, this.config(name, command, linuxInfo));
    const termination = await containerizer.wait(id);
    return {
      status: termination?.status,
      stderr: readFileSync(join(this.sandbox(name), 'stderr'), 'utf8'),
    };
  }

  async dispose(): Promise<void> {
    const containerizer = this.containerizer;
    if (containerizer) {
      await Promise.allSettled(containerizer.list().map((id) => containerizer.destroy(id)));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const caps = (...capabilities: string[]) => ({ capabilities });

describeOnKernel('linux/capabilities in real containers', { root: true }, () => {
  let world: World;
  beforeEach(() => {
    world = new World();
  });
  afterEach(async () => {
    await world.dispose();
  });

  it('gives a root command exactly its effective set, bounded, with no_new_privs', async () => {
    const { kernel, privileges } = await world.inspect('root', {
      effective_capabilities: caps('DAC_READ_SEARCH'),
      bounding_capabilities: caps('NET_RAW', 'NET_ADMIN', 'DAC_READ_SEARCH'),
    });
    expect(kernel.uids[0]).toBe(0);
    expect(kernel.effective).toEqual(['CAP_DAC_READ_SEARCH']);
    expect(kernel.permitted).toEqual(['CAP_DAC_READ_SEARCH']);
    expect(kernel.ambient).toEqual(['CAP_DAC_READ_SEARCH']);
    expect(kernel.bounding).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_NET_ADMIN', 'CAP_NET_RAW']);
    expect(kernel.noNewPrivs).toBe(true);
    expect(privileges).toEqual({
      user: 'root',
      uid: 0,
      gid: 0,
      groups: expect.any(Array),
      effective_capabilities: ['DAC_READ_SEARCH'],
      bounding_capabilities: ['NET_RAW', 'NET_ADMIN', 'DAC_READ_SEARCH'],
      no_new_privileges: true,
    });
  });

  it('keeps the effective set of nobody across exec, through the ambient set', async () => {
    const { kernel, privileges } = await world.inspect(
      'nobody',
      { effective_capabilities: caps('cap_net_bind_service') },
      'nobody',
    );
    expect(kernel.uids).toEqual([65534, 65534, 65534, 65534]);
    expect(kernel.effective).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.permitted).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.ambient).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(privileges).toMatchObject({
      user: 'nobody',
      effective_capabilities: ['NET_BIND_SERVICE'],
      bounding_capabilities: ['NET_BIND_SERVICE'],
    });
  });

  it('leaves a command that asks for nothing as its user makes it', async () => {
    const root = await world.inspect('plain-root', {});
    expect(root.kernel.effective.length).toBeGreaterThan(30);
    const nobody = await world.inspect('plain-nobody', {}, 'nobody');
    expect(nobody.kernel.effective).toEqual([]);
    expect(nobody.kernel.ambient).toEqual([]);
    expect(nobody.kernel.bounding).toEqual(processPrivileges(process.pid).bounding);
    expect(nobody.privileges?.effective_capabilities).toBeUndefined();
  });

  it("applies the operator's default sets to containers that ask for none", async () => {
    await world.start({
      effective_capabilities: '{"capabilities": ["KILL"]}',
      bounding_capabilities: '{"capabilities": ["KILL", "CHOWN"]}',
    });
    const { kernel } = await world.inspect('defaults', {});
    expect(kernel.effective).toEqual(['CAP_KILL']);
    expect(kernel.bounding).toEqual(['CAP_CHOWN', 'CAP_KILL']);
  });

  it('makes chown fail for root without CAP_CHOWN', async () => {
    const chown = 'touch f && chown 1:1 f';
    expect(await world.run('chown', chown, { effective_capabilities: caps('CHOWN') })).toEqual({
      status: 0,
      stderr: '',
    });
    const denied = await world.run('nochown', chown, { effective_capabilities: caps('NET_RAW') });
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain('Operation not permitted');
  });

  it.each([
    [{ effective_capabilities: caps('UNKNOWN') }, "'UNKNOWN' is not a capability"],
    [{ effective_capabilities: caps('CHOWN', 'CAP_CHOWN') }, 'CHOWN is given twice'],
    [
      { effective_capabilities: caps('SYS_ADMIN'), bounding_capabilities: caps('CHOWN') },
      'asks for {SYS_ADMIN}, outside the bounding set asked for, {CHOWN}',
    ],
  ])('refuses %j before anything is created', async (linuxInfo, message) => {
    const containerizer = await world.start({
      bounding_capabilities: '{"capabilities": ["CHOWN"]}',
    });
    const launch = containerizer.launch(
      { value: 'bad' },
      world.config('bad', 'touch ran', linuxInfo),
    );
    await expect(launch).rejects.toThrow(InvalidContainerConfigError);
    await expect(launch).rejects.toThrow(message);
    expect(containerizer.list()).toEqual([]);
    expect(existsSync(join(world.sandbox('bad'), 'ran'))).toBe(false);
  });

  it('refuses a request outside the operator bound, naming the capability', async () => {
    const containerizer = await world.start({
      bounding_capabilities: '{"capabilities": ["CHOWN"]}',
    });
    await expect(
      containerizer.launch(
        { value: 'beyond' },
        world.config('beyond', 'true', { effective_capabilities: caps('NET_RAW') }),
      ),
    ).rejects.toThrow('asks for {NET_RAW}, outside what the agent allows, {CHOWN}');
  });
});
