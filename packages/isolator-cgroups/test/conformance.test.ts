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

/** A sleeping container with one resource's request and limit. */
const launchWith =
  (name: string, request: number, limit: number) =>
  ({ directory, runtime_directory }: { directory: string; runtime_directory: string }) => ({
    command_info: { value: 'sleep 3600' },
    resources: [{ name, type: 'SCALAR' as const, scalar: { value: request } }],
    limits: { [name]: { value: limit } },
    directory,
    runtime_directory,
  });

describeIsolatorConformance(manifest, {
  isolator: 'cgroups/cpu',
  source: '@corral/isolator-cgroups',
  packageJson: new URL('../package.json', import.meta.url),
  flags,
  config: launchWith('cpus', 0.5, 1),
  invalidConfig: launchWith('cpus', 2, 1),
  holdsResources: true,
  probe,
});

describeIsolatorConformance(manifest, {
  isolator: 'cgroups/mem',
  source: '@corral/isolator-cgroups',
  flags,
  config: launchWith('mem', 32, 64),
  invalidConfig: launchWith('mem', 64, 48),
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
