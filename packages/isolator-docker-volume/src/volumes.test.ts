import type { ContainerConfig } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { volumeRequests } from './volumes.ts';

const config = (volumes: unknown): ContainerConfig =>
  ({
    command_info: { value: 'true' },
    container_info: { volumes },
    directory: '/sandbox',
    runtime_directory: '/run/c',
  }) as ContainerConfig;

const docker = (name: string, extra: Record<string, unknown> = {}) => ({
  mode: 'RW',
  container_path: `data/${name}`,
  source: { type: 'DOCKER_VOLUME', docker_volume: { driver: 'acme', name } },
  ...extra,
});

describe('volumeRequests', () => {
  it('reads driver, name, options (later duplicates win), mode and path', () => {
    expect(
      volumeRequests(
        config([
          {
            mode: 'RO',
            container_path: '/srv/data',
            source: {
              type: 'DOCKER_VOLUME',
              docker_volume: {
                driver: 'acme',
                name: 'v1',
                driver_options: {
                  parameter: [
                    { key: 'iops', value: '100' },
                    { key: 'iops', value: '150' },
                  ],
                },
              },
            },
          },
        ]),
      ),
    ).toEqual([
      {
        field: 'container.volumes[0]',
        driver: 'acme',
        name: 'v1',
        options: { iops: '150' },
        readOnly: true,
        containerPath: '/srv/data',
      },
    ]);
    expect(volumeRequests(config(undefined))).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    [
      'two sources',
      [docker('a', { host_path: '/tmp' })],
      /exactly one of 'host_path', 'image' and 'source' \(got host_path, source\)/,
    ],
    [
      'a host path',
      [{ mode: 'RW', container_path: 'x', host_path: '/tmp' }],
      /only volumes with source.type DOCKER_VOLUME.*'host_path' volume/,
    ],
    [
      'another source type',
      [{ mode: 'RW', container_path: 'x', source: { type: 'SECRET' } }],
      /no isolator for "SECRET"/,
    ],
    [
      'no docker_volume',
      [{ mode: 'RW', container_path: 'x', source: { type: 'DOCKER_VOLUME' } }],
      /'container.volumes\[0\].source.docker_volume' is invalid/,
    ],
    [
      'no driver',
      [docker('a', { source: { type: 'DOCKER_VOLUME', docker_volume: { name: 'a' } } })],
      /driver undefined is not a plain name/,
    ],
    [
      'a driver that is a path',
      [
        docker('a', {
          source: { type: 'DOCKER_VOLUME', docker_volume: { driver: '../x', name: 'a' } },
        }),
      ],
      /driver "..\/x" is not a plain name/,
    ],
    [
      'a volume name with a slash',
      [
        docker('a', {
          source: { type: 'DOCKER_VOLUME', docker_volume: { driver: 'd', name: 'a/b' } },
        }),
      ],
      /volume name "a\/b" is not a plain name/,
    ],
    [
      'a bad mode',
      [docker('a', { mode: 'rw' })],
      /'container.volumes\[0\].mode' is invalid: "rw" is not RW or RO/,
    ],
    ['a path with ..', [docker('a', { container_path: 'data/../../etc' })], /has a '..' component/],
    [
      'no path',
      [docker('a', { container_path: '' })],
      /container_path' is invalid: must be a non-empty path/,
    ],
    [
      'the same volume twice',
      [docker('a'), docker('a', { container_path: 'other' })],
      /'container.volumes\[1\]' is invalid: has the same volume acme\/a as container.volumes\[0\]/,
    ],
    [
      'the same path twice',
      [docker('a'), docker('b', { container_path: 'data/a/' })],
      /same container_path data\/a as container.volumes\[0\]/,
    ],
    [
      'bad options',
      [
        docker('a', {
          source: {
            type: 'DOCKER_VOLUME',
            docker_volume: { driver: 'd', name: 'a', driver_options: { parameter: [{ key: 1 }] } },
          },
        }),
      ],
      /driver_options' is invalid/,
    ],
    ['not a list', { a: 1 }, /'container.volumes' is invalid: must be a list/],
  ])('refuses %s, naming the volume and the rule', (_case, volumes, message) => {
    expect(() => volumeRequests(config(volumes))).toThrow(message);
  });
});
