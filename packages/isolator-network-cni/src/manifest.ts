import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineIsolator, defineManifest, InvalidFlagError, pathList } from '@corral/core';
import { loadNetworks } from './config/load.ts';
import { networkCniFlags } from './flags.ts';
import { NetworkCniIsolator } from './isolator.ts';
import { NetnsHandles } from './netns.ts';
import { AttachmentStore } from './store.ts';

export const networkCni = defineIsolator({
  name: 'network/cni',
  description:
    'A network namespace and CNI networks (conflists, chaining, port mappings) for each container ' +
    'that names networks in container.network_infos; the others keep the host network',
  flags: networkCniFlags,
  requires: { root: true, linux: true, namespaces: ['net', 'uts', 'mnt'] },
  honours: ['container.network_infos'],
  async create(flags, context) {
    const configDir = flags.network_cni_config_dir;
    const pluginsDir = flags.network_cni_plugins_dir;
    if ((configDir === undefined) !== (pluginsDir === undefined)) {
      const [given, missing] =
        configDir === undefined
          ? ['network_cni_plugins_dir', 'network_cni_config_dir']
          : ['network_cni_config_dir', 'network_cni_plugins_dir'];
      throw new InvalidFlagError(
        missing,
        undefined,
        `--${given} needs --${missing} too (or neither, for host networking only)`,
      );
    }
    if (configDir !== undefined && !existsSync(configDir)) {
      throw new InvalidFlagError(
        'network_cni_config_dir',
        configDir,
        `--network_cni_config_dir '${configDir}' does not exist`,
      );
    }
    const runner = {
      searchPath: pluginsDir === undefined ? [] : pathList(pluginsDir),
      timeoutMs: flags.network_cni_plugin_timeout * 1000,
    };
    const networks = configDir === undefined ? new Map() : await loadNetworks(configDir, runner);
    context.logger.info('CNI networks loaded', {
      networks: [...networks.values()].map(({ name, file }) => ({ name, file })),
    });
    return new NetworkCniIsolator({
      networks,
      runner,
      store: new AttachmentStore(
        flags.network_cni_root_dir ?? join(context.agent.workDir, 'isolators', 'network', 'cni'),
      ),
      handles: new NetnsHandles(),
      etcDir: join(context.runtimeDir, 'etc'),
      logger: context.logger,
    });
  },
});

export default defineManifest(networkCni);
