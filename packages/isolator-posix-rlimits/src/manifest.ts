import { defineIsolator, defineManifest } from '@corral/core';
import { createRlimitsIsolator } from './rlimits.ts';

export const posixRlimits = defineIsolator({
  name: 'posix/rlimits',
  description:
    'Per-container resource limits (RLMT_NOFILE, RLMT_CORE, …) from container.rlimit_info, ' +
    'set with setrlimit(2) before the command runs',
  honours: ['container.rlimit_info'],
  create: () => createRlimitsIsolator(),
});

export default defineManifest(posixRlimits);
