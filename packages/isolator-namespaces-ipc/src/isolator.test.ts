import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerConfig, LinuxInfo } from '@corral/core';
import { InvalidContainerConfigError, silentLogger } from '@corral/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIpcIsolator, type IpcIsolatorOptions } from './isolator.ts';
import { namespacesIpc } from './manifest.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-ipc-unit-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const id = { value: 'c1' };

function config(linux?: LinuxInfo): ContainerConfig {
  return {
    command_info: { value: 'true' },
    directory: join(dir, 'sandbox'),
    runtime_directory: join(dir, 'runtime', 'containers', 'c1'),
    ...(linux === undefined ? {} : { container_info: { linux_info: linux } }),
  };
}

function isolator(options: Partial<IpcIsolatorOptions> = {}) {
  return createIpcIsolator({
    disallowSharingAgentIpcNamespace: false,
    agentRuntimeDir: join(dir, 'runtime'),
    // Unit tests must not depend on whether this host mounts /dev/mqueue.
    mqueueMountPoint: join(dir, 'no-mqueue-here'),
    ...options,
  });
}

const shm = {
  target: '/dev/shm',
  source: 'shm',
  type: 'tmpfs',
  flags: ['nosuid', 'nodev'],
} as const;

describe('prepare', () => {
  it('PRIVATE (the default): new ipc and mnt namespaces and a tmpfs on /dev/shm', async () => {
    expect(await isolator().prepare?.(id, config())).toEqual({
      clone_namespaces: ['ipc', 'mnt'],
      mounts: [{ ...shm, options: 'mode=1777' }],
    });
  });

  it('PRIVATE with shm_size: the size in bytes', async () => {
    const info = await isolator().prepare?.(id, config({ ipc_mode: 'PRIVATE', shm_size: 1 }));
    expect(info?.mounts).toEqual([{ ...shm, options: 'mode=1777,size=1048576' }]);
  });

  it('PRIVATE under --default_container_shm_size', async () => {
    const info = await isolator({ defaultShmSizeBytes: 64 * 1024 * 1024 }).prepare?.(id, config());
    expect(info?.mounts).toEqual([{ ...shm, options: 'mode=1777,size=67108864' }]);
  });

  it("SHARE_PARENT: no namespace, no mount (the agent's IPC namespace and /dev/shm)", async () => {
    const info = await isolator().prepare?.(id, config({ ipc_mode: 'SHARE_PARENT' }));
    expect(info).toBeUndefined();
  });

  it('also mounts a private mqueue filesystem where the host has one', async () => {
    const info = await isolator({ mqueueMountPoint: dir }).prepare?.(id, config());
    expect(info?.mounts).toEqual([
      { ...shm, options: 'mode=1777' },
      {
        target: dir,
        source: 'mqueue',
        type: 'mqueue',
        flags: ['nosuid', 'nodev', 'noexec'],
      },
    ]);
  });

  it('refuses invalid options with InvalidContainerConfigError; cleanup then does nothing', async () => {
    const ipc = isolator({ disallowSharingAgentIpcNamespace: true });
    expect(() => ipc.prepare?.(id, config({ ipc_mode: 'SHARE_PARENT' }))).toThrow(
      InvalidContainerConfigError,
    );
    expect(() => ipc.prepare?.(id, config({ ipc_mode: 'UNKNOWN' }))).toThrow(
      /'UNKNOWN' is not a supported IPC mode/,
    );
    await expect(ipc.cleanup?.(id)).resolves.toBeUndefined();
  });
});

describe('cleanup', () => {
  it('is a no-op for a container it never heard of', async () => {
    await expect(isolator().cleanup?.({ value: 'never-seen' })).resolves.toBeUndefined();
  });

  it('succeeds for a prepared container with nothing mounted on the host', async () => {
    const ipc = isolator();
    await ipc.prepare?.(id, config());
    await expect(ipc.cleanup?.(id)).resolves.toBeUndefined();
  });
});

describe('namespacesIpc.create', () => {
  it('builds the isolator from the flag values', async () => {
    const ipc = await namespacesIpc.create(
      { default_container_shm_size: 2048, disallow_sharing_agent_ipc_namespace: true },
      {
        name: 'namespaces/ipc',
        logger: silentLogger,
        runtimeDir: join(dir, 'runtime', 'isolators', 'namespaces_ipc'),
        cgroups: { hierarchy: '/sys/fs/cgroup', root: 'corral' },
        agent: { workDir: dir, runtimeDir: join(dir, 'runtime') },
      },
    );
    const info = await ipc.prepare?.(id, config());
    expect(info?.mounts?.[0]?.options).toBe('mode=1777,size=2048');
    expect(() => ipc.prepare?.(id, config({ ipc_mode: 'SHARE_PARENT' }))).toThrow(
      /--disallow_sharing_agent_ipc_namespace=true/,
    );
    expect(ipc.status).toBeUndefined();
    expect(ipc.usage).toBeUndefined();
  });
});
