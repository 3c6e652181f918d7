import { InvalidFlagError, parseFlags, validateManifest } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { ipcFlags } from './flags.ts';
import manifest, { namespacesIpc } from './manifest.ts';

const KB = 1024;
const MB = KB * 1024;
const GB = MB * 1024;

describe('--default_container_shm_size', () => {
  it('is absent by default (the kernel tmpfs default applies)', () => {
    expect(parseFlags(ipcFlags, {}).default_container_shm_size).toBeUndefined();
  });

  it.each([
    ['64MB', 64 * MB],
    ['64mb', 64 * MB],
    ['1Gb', GB],
    ['512KB', 512 * KB],
    ['4096B', 4096],
    ['1b', 1],
    ['2TB', 2 * 1024 * GB],
    ['064MB', 64 * MB],
  ])('%s is %d bytes (powers of 1024, any case)', (raw, bytes) => {
    expect(
      parseFlags(ipcFlags, { default_container_shm_size: raw }).default_container_shm_size,
    ).toBe(bytes);
  });

  it.each([
    ['100', 'no unit'],
    ['1.5GB', 'a fraction'],
    ['10XB', 'an unknown unit'],
    ['-1MB', 'a sign'],
    ['0MB', 'zero, which tmpfs reads as unlimited'],
    ['', 'nothing'],
    [' 64MB', 'a space'],
    ['64 MB', 'a space before the unit'],
  ])("refuses '%s' (%s), naming the flag, the value and the accepted form", (raw) => {
    let error: unknown;
    try {
      parseFlags(ipcFlags, { default_container_shm_size: raw });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidFlagError);
    expect(error).toMatchObject({ flag: 'default_container_shm_size', value: raw });
    const { message } = error as InvalidFlagError;
    expect(message).toContain(`Invalid value '${raw}' for flag --default_container_shm_size`);
    expect(message).toContain('accepted: a positive size like 64MB');
  });

  it('says why zero is refused', () => {
    expect(() => parseFlags(ipcFlags, { default_container_shm_size: '0GB' })).toThrow(
      /tmpfs would take as no size limit/,
    );
  });
});

describe('--disallow_sharing_agent_ipc_namespace', () => {
  it('defaults to false', () => {
    expect(parseFlags(ipcFlags, {}).disallow_sharing_agent_ipc_namespace).toBe(false);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('%s → %s', (raw, value) => {
    expect(
      parseFlags(ipcFlags, { disallow_sharing_agent_ipc_namespace: raw })
        .disallow_sharing_agent_ipc_namespace,
    ).toBe(value);
  });

  it('refuses other words', () => {
    expect(() => parseFlags(ipcFlags, { disallow_sharing_agent_ipc_namespace: 'yes' })).toThrow(
      InvalidFlagError,
    );
  });
});

describe('manifest', () => {
  it('is a valid manifest providing namespaces/ipc with its flags and requirements', () => {
    expect(validateManifest(manifest, '@corral/isolator-namespaces-ipc')).toBe(manifest);
    expect(manifest.isolators).toEqual([namespacesIpc]);
    expect(namespacesIpc.name).toBe('namespaces/ipc');
    expect(Object.keys(namespacesIpc.flags ?? {}).sort()).toEqual([
      'default_container_shm_size',
      'disallow_sharing_agent_ipc_namespace',
    ]);
    expect(namespacesIpc.requires).toEqual({
      root: true,
      linux: true,
      namespaces: ['ipc', 'mnt'],
    });
  });
});
