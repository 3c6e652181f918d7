import { isAbsolute } from 'node:path';
import { flag } from '@corral/core';

/** The directories of a colon-separated list, as PATH is written. */
export function dirList(value: string): string[] {
  return value.split(':').filter((dir) => dir !== '');
}

/** Checks a colon-separated list of absolute directories; the value stays text, as shown. */
function parseDirList(raw: string): string {
  const dirs = dirList(raw);
  const relative = dirs.find((dir) => !isAbsolute(dir));
  if (dirs.length === 0 || relative !== undefined) {
    throw new Error(
      `'${raw}' is not a colon-separated list of absolute directories${relative ? ` ('${relative}' is relative)` : ''}`,
    );
  }
  return raw;
}

const DIR_LIST = 'absolute directories separated by colons, e.g. /run/docker/plugins:/srv/plugins';

export const dockerVolumeFlags = {
  docker_volume_plugin_dirs: flag.custom({
    help: 'Where volume plugins put their sockets (<name>.sock or <name>/<name>.sock), searched first',
    accepted: DIR_LIST,
    default: '/run/docker/plugins',
    parse: parseDirList,
  }),
  docker_volume_spec_dirs: flag.custom({
    help: 'Where <name>.spec and <name>.json files give the address of a volume plugin, searched next',
    accepted: DIR_LIST,
    default: '/etc/docker/plugins:/usr/lib/docker/plugins',
    parse: parseDirList,
  }),
  docker_volume_checkpoint_dir: flag.custom({
    help:
      'Where the volumes each container holds are checkpointed before they are mounted; keep it ' +
      'on a persistent disk so a reboot does not lose what to unmount (default: ' +
      '<work_dir>/isolators/docker/volume)',
    accepted: 'an absolute directory',
    parse: (raw: string) => {
      if (!isAbsolute(raw)) throw new Error(`'${raw}' is not an absolute directory`);
      return raw;
    },
  }),
  docker_volume_timeout: flag.integer({
    help: 'Seconds one plugin call (Get, Create, Mount, Unmount) may take, retries included',
    min: 1,
    max: 3600,
    default: 120,
  }),
};
