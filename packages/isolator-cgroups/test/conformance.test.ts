import { randomBytes } from 'node:crypto';
import { cgroupExists, destroyCgroup } from '@corral/cgroupfs';
import { containerIdToString } from '@corral/core';
import { describeIsolatorConformance } from '@corral/isolator-testkit';
import { afterAll } from 'vitest';
import manifest from '../src/index.ts';
import { allHierarchies, CGROUPS_HIERARCHY } from './helpers.ts';

// A root of its own, so concurrent test files never see these cgroups.
const root = `corral-conformance-${process.pid}-${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  for (const hierarchy of allHierarchies()) {
    if (cgroupExists(hierarchy, root)) await destroyCgroup(hierarchy, root, { timeoutMs: 10_000 });
  }
});

const probe = (id: Parameters<typeof containerIdToString>[0]) => {
  const cgroup = `${root}/${containerIdToString(id)}`;
  return allHierarchies()
    .filter((hierarchy) => cgroupExists(hierarchy, cgroup))
    .map((hierarchy) => `cgroup ${hierarchy}/${cgroup}`);
};

const flags = { cgroups_hierarchy: CGROUPS_HIERARCHY, cgroups_root: root };

describeIsolatorConformance(manifest, {
  isolator: 'cgroups/cpu',
  source: '@corral/isolator-cgroups',
  packageJson: new URL('../package.json', import.meta.url),
  flags,
  config: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
    limits: { cpus: { value: 1 } },
    directory,
    runtime_directory,
  }),
  invalidConfig: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 2 } }],
    limits: { cpus: { value: 1 } },
    directory,
    runtime_directory,
  }),
  holdsResources: true,
  probe,
});

describeIsolatorConformance(manifest, {
  isolator: 'cgroups/mem',
  source: '@corral/isolator-cgroups',
  flags,
  config: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 32 } }],
    limits: { mem: { value: 64 } },
    directory,
    runtime_directory,
  }),
  invalidConfig: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }],
    limits: { mem: { value: 48 } },
    directory,
    runtime_directory,
  }),
  holdsResources: true,
  probe,
});

describeIsolatorConformance(manifest, {
  isolator: 'cgroups/pids',
  source: '@corral/isolator-cgroups',
  flags: { ...flags, cgroups_pids_max: '64' },
  holdsResources: true,
  probe,
});
