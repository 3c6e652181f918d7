import { flag } from '@corral/core';

export const dockerVolumeFlags = {
  docker_volume_plugin_dirs: flag.paths({
    help: 'Where volume plugins put their sockets (<name>.sock or <name>/<name>.sock), searched first',
    default: '/run/docker/plugins',
  }),
  docker_volume_spec_dirs: flag.paths({
    help: 'Where <name>.spec and <name>.json files give the address of a volume plugin, searched next',
    default: '/etc/docker/plugins:/usr/lib/docker/plugins',
  }),
  docker_volume_checkpoint_dir: flag.directory({
    help:
      'Where the volumes each container holds are checkpointed before they are mounted; keep it ' +
      'on a persistent disk so a reboot does not lose what to unmount (default: ' +
      '<work_dir>/isolators/docker/volume)',
  }),
  docker_volume_timeout: flag.integer({
    help: 'Seconds one plugin call (Get, Create, Mount, Unmount) may take, retries included',
    min: 1,
    max: 3600,
    default: 120,
  }),
};
