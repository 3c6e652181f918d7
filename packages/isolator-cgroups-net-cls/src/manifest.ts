import { prepareV1Hierarchy } from '@corral/cgroupfs';
import { cgroupsFlags, defineIsolator, defineManifest } from '@corral/core';
import { hierarchyTree } from './cgroup-tree.ts';
import { managedHandles, netClsFlags } from './flags.ts';
import { NetClsIsolator } from './isolator.ts';

export const cgroupsNetCls = defineIsolator({
  name: 'cgroups/net_cls',
  description:
    'One net_cls cgroup per container; with a primary handle, a managed classid 0xAAAABBBB ' +
    'per container that nftables (meta cgroup) can match',
  flags: { ...cgroupsFlags, ...netClsFlags },
  requires: { root: true, linux: true, cgroupSubsystems: ['net_cls'] },
  async create(flags, context) {
    const handles = managedHandles(flags);
    // Finds the net_cls mount, or mounts it (with net_prio where the kernel binds the two).
    const hierarchy = await prepareV1Hierarchy(flags.cgroups_hierarchy, 'net_cls');
    context.logger.info('net_cls hierarchy ready', {
      hierarchy,
      mode: handles ? 'managed' : 'unmanaged',
      ...(handles && { primary: handles.primary, secondaries: handles.secondaries }),
    });
    return new NetClsIsolator({
      tree: hierarchyTree(hierarchy),
      root: flags.cgroups_root,
      handles,
      logger: context.logger,
    });
  },
});

export default defineManifest(cgroupsNetCls);
