import { defineIsolator, defineManifest } from '@corral/core';
import { ipcFlags } from './flags.ts';
import { createIpcIsolator } from './isolator.ts';

export const namespacesIpc = defineIsolator({
  name: 'namespaces/ipc',
  description: 'Each container in its own IPC namespace with a private /dev/shm',
  flags: ipcFlags,
  // The mount namespace carries the private /dev/shm; both need CAP_SYS_ADMIN.
  requires: { root: true, linux: true, namespaces: ['ipc', 'mnt'] },
  honours: ['container.linux_info.ipc_mode', 'container.linux_info.shm_size'],
  create: (flags, context) =>
    createIpcIsolator({
      defaultShmSizeBytes: flags.default_container_shm_size,
      disallowSharingAgentIpcNamespace: flags.disallow_sharing_agent_ipc_namespace,
      agentRuntimeDir: context.agent.runtimeDir,
      logger: context.logger,
    }),
});

export default defineManifest(namespacesIpc);
