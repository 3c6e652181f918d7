import { describe, expect, it } from 'vitest';
import {
  covers,
  isLaunchFieldPath,
  KNOWN_LAUNCH_FIELDS,
  knownLaunchField,
  setLaunchFields,
} from './launch-fields.ts';

describe('setLaunchFields', () => {
  it('reports nothing for a plain command', () => {
    expect(setLaunchFields({ command: { value: 'sleep 1' } })).toEqual(['command.value']);
  });

  it('counts Mesos defaults, empty lists and empty objects as not set', () => {
    expect(
      setLaunchFields({
        command: { value: 'x', shell: true, uris: [] },
        container: {
          type: 'MESOS',
          volumes: [],
          network_infos: [],
          linux_info: { share_pid_namespace: false, share_cgroups: true, ipc_mode: 'UNKNOWN' },
          rlimit_info: { rlimits: [] },
          mesos: {},
        },
      }),
    ).toEqual(['command.value']);
  });

  it('reports each known field set to something else, resources and limits by name', () => {
    expect(
      setLaunchFields({
        command: { value: 'x', user: 'nobody', uris: [{ value: 'http://x' }] },
        container: {
          linux_info: { seccomp: { profile_name: 'p' }, share_pid_namespace: true },
          mesos: { image: { type: 'DOCKER' } },
        },
        resources: [
          { name: 'cpus', type: 'SCALAR', scalar: { value: 1 } },
          { name: 'gpus', type: 'SCALAR', scalar: { value: 1 } },
        ],
        limits: { mem: { value: 10 } },
      }),
    ).toEqual([
      'command.value',
      'command.user',
      'command.uris',
      'container.mesos.image',
      'container.linux_info.share_pid_namespace',
      'container.linux_info.seccomp',
      'resources[name=cpus]',
      'resources[name=gpus]',
      'limits.mem',
    ]);
  });

  it('ignores keys it does not know, as Mesos does', () => {
    expect(
      setLaunchFields({ command: { value: 'x', newer_field: 1 }, container: { future: true } }),
    ).toEqual(['command.value']);
  });

  it('sees every known field when it holds its example', () => {
    // container.type has no other value Corral accepts than its default.
    for (const field of KNOWN_LAUNCH_FIELDS.filter((f) => f.example !== f.defaultValue)) {
      const input: Record<string, unknown> = {};
      const resource = /^resources\[name=(.+)\]$/.exec(field.path);
      if (resource) {
        input.resources = [{ name: resource[1], type: 'SCALAR', scalar: { value: field.example } }];
      } else {
        const keys = field.path.split('.');
        let at = input;
        for (const key of keys.slice(0, -1)) {
          at[key] = {};
          at = at[key] as Record<string, unknown>;
        }
        at[keys.at(-1) as string] = keys[0] === 'limits' ? { value: field.example } : field.example;
      }
      expect(setLaunchFields(input), field.path).toContain(field.path);
    }
  });
});

describe('launch field paths', () => {
  it('accepts the forms the manifest may declare and refuses others', () => {
    for (const path of [
      'container.rlimit_info',
      'container.linux_info.seccomp',
      'resources',
      'resources[name=mem]',
      'limits.cpus',
      'command.user',
    ]) {
      expect(isLaunchFieldPath(path), path).toBe(true);
    }
    for (const path of ['', 'container.', 'rlimit_info', 'limits.', 'resources[mem]', 3]) {
      expect(isLaunchFieldPath(path), String(path)).toBe(false);
    }
  });

  it('lets a path cover its sub-fields, not its siblings', () => {
    expect(covers('container.linux_info', 'container.linux_info.seccomp')).toBe(true);
    expect(covers('resources', 'resources[name=mem]')).toBe(true);
    expect(covers('container.linux', 'container.linux_info.seccomp')).toBe(false);
    expect(covers('limits.cpus', 'limits.mem')).toBe(false);
  });

  it('finds the known field a sub-field falls under', () => {
    expect(knownLaunchField('container.volumes')?.isolator).toBe('docker/volume');
    expect(knownLaunchField('command.uris')?.unsupported).toMatch(/fetcher/);
    expect(knownLaunchField('limits.gpus')).toBeUndefined();
  });

  it('has valid, distinct paths, each honoured by a design or explained', () => {
    const paths = KNOWN_LAUNCH_FIELDS.map((field) => field.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const field of KNOWN_LAUNCH_FIELDS) {
      expect(isLaunchFieldPath(field.path), field.path).toBe(true);
      expect(field.isolator !== undefined && field.unsupported !== undefined, field.path).toBe(
        false,
      );
    }
  });
});
