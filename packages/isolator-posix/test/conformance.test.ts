import { containerIdToString, UnknownContainerError } from '@corral/core';
import { describeIsolatorConformance, type Probe } from '@corral/isolator-testkit';
import manifest from '../src/index.ts';

/** The only thing these isolators hold is the init pid they report usage for. */
const probe: Probe = async (id, { isolator }) => {
  try {
    await isolator.usage?.(id);
  } catch (error) {
    if (error instanceof UnknownContainerError) return [];
    throw error;
  }
  return [`usage of '${containerIdToString(id)}' is still reported`];
};

for (const isolator of ['posix/cpu', 'posix/mem']) {
  describeIsolatorConformance(manifest, {
    source: '@corral/isolator-posix',
    packageJson: new URL('../package.json', import.meta.url),
    isolator,
    probe,
    holdsResources: true,
  });
}
