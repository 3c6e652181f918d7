import { describeIsolatorConformance } from '@corral/isolator-testkit';
import manifest from '../src/index.ts';

describeIsolatorConformance(manifest, {
  source: '@corral/isolator-linux-capabilities',
  packageJson: new URL('../package.json', import.meta.url),
  config: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    container_info: {
      linux_info: {
        effective_capabilities: { capabilities: ['NET_BIND_SERVICE'] },
        bounding_capabilities: { capabilities: ['NET_BIND_SERVICE', 'CHOWN'] },
      },
    },
    directory,
    runtime_directory,
  }),
  invalidConfig: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    container_info: { linux_info: { effective_capabilities: { capabilities: ['UNKNOWN'] } } },
    directory,
    runtime_directory,
  }),
  // The sets live in the container's processes, which the engine has killed before cleanup; the
  // isolator itself keeps nothing, so there is nothing for a probe to find.
  probe: () => [],
});
