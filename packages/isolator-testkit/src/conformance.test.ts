import { containerIdToString } from '@corral/core';
import { FAILING_COMMAND, fakeManifest, hostProbe } from '../test/fake-isolator.ts';
import { describeIsolatorConformance } from './conformance.ts';

// The kit applied to a well-behaved isolator: every rule registers and passes.
const host = new Set<string>();
describeIsolatorConformance(fakeManifest(host), {
  source: 'fake-isolator',
  flags: { fake_limit: '7' },
  probe: hostProbe(host),
  holdsResources: true,
  invalidConfig: ({ directory, runtime_directory }) => ({
    command_info: { value: FAILING_COMMAND },
    directory,
    runtime_directory,
  }),
  config: ({ id, directory, runtime_directory }) => ({
    command_info: { value: `echo ${containerIdToString(id)}` },
    directory,
    runtime_directory,
  }),
});
