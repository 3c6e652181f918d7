import type { ContainerConfig, LinuxInfo } from '@corral/core';
import { InvalidContainerConfigError } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { type IpcPolicy, resolveIpcSettings } from './options.ts';

const MB = 1024 * 1024;
const allow: IpcPolicy = { disallowSharingAgentIpcNamespace: false };
const disallow: IpcPolicy = { disallowSharingAgentIpcNamespace: true };

function config(linux?: Record<string, unknown>): ContainerConfig {
  return {
    command_info: { value: 'true' },
    directory: '/tmp/sandbox',
    runtime_directory: '/tmp/runtime',
    ...(linux === undefined ? {} : { container_info: { linux_info: linux as LinuxInfo } }),
  };
}

function refusal(linux: Record<string, unknown>, policy: IpcPolicy = allow) {
  try {
    resolveIpcSettings(config(linux), policy);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidContainerConfigError);
    const refused = error as InvalidContainerConfigError;
    return { field: refused.field, code: refused.code, message: refused.message };
  }
  throw new Error(`${JSON.stringify(linux)} was accepted`);
}

describe('resolveIpcSettings: accepted', () => {
  it.each([
    ['no container_info', undefined, allow, { mode: 'PRIVATE' }],
    ['an empty linux_info', {}, allow, { mode: 'PRIVATE' }],
    ['ipc_mode null (JSON for absent)', { ipc_mode: null }, allow, { mode: 'PRIVATE' }],
    ['PRIVATE', { ipc_mode: 'PRIVATE' }, allow, { mode: 'PRIVATE' }],
    ['shm_size null (JSON for absent)', { shm_size: null }, allow, { mode: 'PRIVATE' }],
    [
      'PRIVATE with shm_size',
      { ipc_mode: 'PRIVATE', shm_size: 128 },
      allow,
      { mode: 'PRIVATE', shmSizeBytes: 128 * MB },
    ],
    [
      'shm_size alone (the default mode is PRIVATE)',
      { shm_size: 1 },
      allow,
      { mode: 'PRIVATE', shmSizeBytes: MB },
    ],
    [
      'PRIVATE under the default size flag',
      { ipc_mode: 'PRIVATE' },
      { ...allow, defaultShmSizeBytes: 64 * MB },
      { mode: 'PRIVATE', shmSizeBytes: 64 * MB },
    ],
    [
      'shm_size over the default size flag',
      { shm_size: 2 },
      { ...allow, defaultShmSizeBytes: 64 * MB },
      { mode: 'PRIVATE', shmSizeBytes: 2 * MB },
    ],
    ['PRIVATE when sharing is disallowed', { ipc_mode: 'PRIVATE' }, disallow, { mode: 'PRIVATE' }],
    ['SHARE_PARENT', { ipc_mode: 'SHARE_PARENT' }, allow, { mode: 'SHARE_PARENT' }],
    [
      'SHARE_PARENT ignores the default size flag',
      { ipc_mode: 'SHARE_PARENT' },
      { ...allow, defaultShmSizeBytes: 64 * MB },
      { mode: 'SHARE_PARENT' },
    ],
  ] as const)('%s', (_, linux, policy, expected) => {
    expect(resolveIpcSettings(config(linux), policy)).toEqual(expected);
  });
});

describe('resolveIpcSettings: refused', () => {
  it.each([
    ['UNKNOWN', 'UNKNOWN', "'UNKNOWN'"],
    ['a lower-case mode', 'private', "'private'"],
    ['a number', 1, '1'],
    ['an empty string', '', "''"],
  ])('ipc_mode %s, naming the field, the value and the accepted values', (_, mode, shown) => {
    const error = refusal({ ipc_mode: mode });
    expect(error).toMatchObject({
      field: 'container.linux_info.ipc_mode',
      code: 'CORRAL_INVALID_CONTAINER_CONFIG',
    });
    expect(error.message).toContain(`${shown} is not a supported IPC mode`);
    expect(error.message).toContain('accepted: PRIVATE, SHARE_PARENT');
  });

  it.each([0, -1, 1.5, '64', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, true, {}])(
    'shm_size %s',
    (size) => {
      const error = refusal({ ipc_mode: 'PRIVATE', shm_size: size });
      expect(error.field).toBe('container.linux_info.shm_size');
      expect(error.message).toMatch(/is not a valid \/dev\/shm size; accepted: a positive whole/);
    },
  );

  it('shm_size with SHARE_PARENT', () => {
    const error = refusal({ ipc_mode: 'SHARE_PARENT', shm_size: 128 });
    expect(error.field).toBe('container.linux_info.shm_size');
    expect(error.message).toContain('only accepted with ipc_mode PRIVATE');
  });

  it('SHARE_PARENT when --disallow_sharing_agent_ipc_namespace=true', () => {
    const error = refusal({ ipc_mode: 'SHARE_PARENT' }, disallow);
    expect(error.field).toBe('container.linux_info.ipc_mode');
    expect(error.message).toContain('--disallow_sharing_agent_ipc_namespace=true');
    expect(error.message).toContain('accepted: PRIVATE');
  });
});
