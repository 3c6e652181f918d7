import { describe, expect, it } from 'vitest';
import { LaunchInfoConflictError } from './errors.ts';
import { mergeLaunchInfos } from './launch-info-merge.ts';

describe('mergeLaunchInfos', () => {
  it('concatenates repeated fields and makes namespace sets', () => {
    const merged = mergeLaunchInfos([
      {
        isolator: 'a/one',
        info: {
          clone_namespaces: ['mnt', 'ipc'],
          mounts: [{ target: '/dev/shm', type: 'tmpfs' }],
          environment: { variables: [{ name: 'A', value: '1' }] },
        },
      },
      {
        isolator: 'a/two',
        info: {
          clone_namespaces: ['ipc', 'pid'],
          mounts: [{ target: '/tmp', type: 'tmpfs' }],
          environment: { variables: [{ name: 'B', value: '2' }] },
          rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }],
        },
      },
    ]);
    expect(merged).toEqual({
      clone_namespaces: ['ipc', 'mnt', 'pid'],
      mounts: [
        { target: '/dev/shm', type: 'tmpfs' },
        { target: '/tmp', type: 'tmpfs' },
      ],
      environment: {
        variables: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
      rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }],
    });
  });

  it.each(['working_directory', 'rlimits', 'effective_capabilities'] as const)(
    'names both isolators when %s is set twice',
    (field) => {
      const value =
        field === 'working_directory' ? '/x' : field === 'rlimits' ? [] : { capabilities: [] };
      expect(() =>
        mergeLaunchInfos([
          { isolator: 'a/one', info: { [field]: value } },
          { isolator: 'a/two', info: { [field]: value } },
        ]),
      ).toThrow(new LaunchInfoConflictError(field, 'a/one', 'a/two'));
    },
  );
});
