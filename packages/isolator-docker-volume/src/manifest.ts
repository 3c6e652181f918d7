import { join } from 'node:path';
import { defineIsolator, defineManifest, pathList } from '@corral/core';
import { CheckpointStore } from './checkpoint.ts';
import { dockerVolumeFlags } from './flags.ts';
import { DockerVolumeIsolator } from './isolator.ts';
import { PluginClient } from './plugin/client.ts';

export const dockerVolume = defineIsolator({
  name: 'docker/volume',
  description:
    'External volumes from Docker volume plugins, bind-mounted into each container (one Mount ' +
    'and one Unmount per container)',
  flags: dockerVolumeFlags,
  // Bind mounts inside the container's own mount namespace.
  requires: { root: true, linux: true, namespaces: ['mnt'] },
  honours: ['container.volumes'],
  create: (flags, context) =>
    new DockerVolumeIsolator({
      client: new PluginClient({
        dirs: {
          socketDirs: pathList(flags.docker_volume_plugin_dirs),
          specDirs: pathList(flags.docker_volume_spec_dirs),
        },
        timeoutMs: flags.docker_volume_timeout * 1000,
      }),
      checkpoints: new CheckpointStore(
        flags.docker_volume_checkpoint_dir ??
          join(context.agent.workDir, 'isolators', 'docker', 'volume'),
      ),
      logger: context.logger,
    }),
});

export default defineManifest(dockerVolume);
