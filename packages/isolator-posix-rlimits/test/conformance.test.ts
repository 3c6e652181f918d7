import { describeIsolatorConformance } from '@corral/isolator-testkit';
import manifest from '../src/index.ts';

describeIsolatorConformance(manifest, {
  source: '@corral/isolator-posix-rlimits',
  packageJson: new URL('../package.json', import.meta.url),
  config: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    container_info: { rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }] } },
    directory,
    runtime_directory,
  }),
  invalidConfig: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    container_info: { rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 256, hard: 128 }] } },
    directory,
    runtime_directory,
  }),
  // The limits live in the container's processes, which the engine has killed before cleanup;
  // the isolator itself keeps nothing, so there is nothing for a probe to find.
  probe: () => [],
});
