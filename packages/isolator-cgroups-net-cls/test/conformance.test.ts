import { randomBytes } from 'node:crypto';
import { cgroupExists, destroyCgroup, findV1Hierarchy, prepareV1Hierarchy } from '@corral/cgroupfs';
import { containerIdToString, UnknownContainerError } from '@corral/core';
import { describeIsolatorConformance } from '@corral/isolator-testkit';
import { afterAll } from 'vitest';
import manifest from '../src/index.ts';

const CGROUPS_HIERARCHY = '/sys/fs/cgroup';
// A root of its own, so concurrent test files never see these cgroups.
const root = `corral-conformance-${process.pid}-${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  const hierarchy = findV1Hierarchy('net_cls');
  if (hierarchy && cgroupExists(hierarchy, root)) {
    await destroyCgroup(hierarchy, root, { timeoutMs: 10_000 });
  }
});

describeIsolatorConformance(manifest, {
  source: '@corral/isolator-cgroups-net-cls',
  packageJson: new URL('../package.json', import.meta.url),
  flags: {
    cgroups_hierarchy: CGROUPS_HIERARCHY,
    cgroups_root: root,
    // Managed mode, with secondaries no other test file uses.
    cgroups_net_cls_primary_handle: '0x19',
    cgroups_net_cls_secondary_handles: '0x900,0x90f',
  },
  holdsResources: true,
  probe: async (id, { isolator }) => {
    const key = containerIdToString(id);
    const left: string[] = [];
    const hierarchy = await prepareV1Hierarchy(CGROUPS_HIERARCHY, 'net_cls');
    if (cgroupExists(hierarchy, `${root}/${key}`)) left.push(`net_cls cgroup ${root}/${key}`);
    try {
      const classid = (await isolator.status?.(id))?.cgroup_info?.net_cls?.classid;
      if (classid !== undefined) left.push(`handle 0x${classid.toString(16)} still in use`);
    } catch (error) {
      if (!(error instanceof UnknownContainerError)) throw error;
    }
    return left;
  },
});
