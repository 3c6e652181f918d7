import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerIdToString } from '@corral/core';
import { describeIsolatorConformance } from '@corral/isolator-testkit';
import { VolumePluginDouble } from '@corral/isolator-testkit/volume-plugin';
import { afterAll, beforeAll } from 'vitest';
import manifest from '../src/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-docker-volume-conformance-'));
let plugin: VolumePluginDouble;
beforeAll(async () => {
  plugin = await VolumePluginDouble.start({
    name: 'local',
    socketDir: join(dir, 'plugins'),
    root: join(dir, 'volumes'),
  });
});
afterAll(() => plugin.stop());

const withVolume =
  (mode: string) =>
  ({ directory, runtime_directory }: { directory: string; runtime_directory: string }) =>
    ({
      command_info: { value: 'sleep 3600' },
      container_info: {
        volumes: [
          {
            mode,
            container_path: 'data',
            source: {
              type: 'DOCKER_VOLUME',
              docker_volume: { driver: 'local', name: 'conformance' },
            },
          },
        ],
      },
      directory,
      runtime_directory,
    }) as never;

describeIsolatorConformance(manifest, {
  source: '@corral/isolator-docker-volume',
  packageJson: new URL('../package.json', import.meta.url),
  flags: {
    docker_volume_plugin_dirs: join(dir, 'plugins'),
    docker_volume_spec_dirs: join(dir, 'specs'),
    docker_volume_checkpoint_dir: join(dir, 'checkpoints'),
  },
  config: withVolume('RW'),
  invalidConfig: withVolume('WRITE-ONLY'),
  holdsResources: true,
  // What the plugin holds for this container: its checkpoint, and mounts whose ID no other
  // container's checkpoint claims (so a leaked Mount is found even after its checkpoint went).
  probe: (id) => {
    const dirOf = join(dir, 'checkpoints');
    const own = `${containerIdToString(id)}.json`;
    const others = new Set(
      (existsSync(dirOf) ? readdirSync(dirOf) : [])
        .filter((file) => file.endsWith('.json') && file !== own)
        .map(
          (file) =>
            (JSON.parse(readFileSync(join(dirOf, file), 'utf8')) as { mountId: string }).mountId,
        ),
    );
    const held = plugin
      .mountedBy('conformance')
      .filter((mountId) => !others.has(mountId))
      .map((mountId) => `Mount ${mountId} not unmounted`);
    return existsSync(join(dirOf, own)) ? [...held, `checkpoint ${own}`] : held;
  },
});
