import { defineIsolator, defineManifest } from '@corral/core';
import { capabilityFlags } from './flags.ts';
import { createCapabilitiesIsolator, readLastCap } from './isolator.ts';

export const linuxCapabilities = defineIsolator({
  name: 'linux/capabilities',
  description:
    'Per-container effective and bounding capability sets (container.linux_info), bounded by ' +
    '--bounding_capabilities, applied before exec for root and other users alike',
  flags: capabilityFlags,
  // Dropping capabilities from a command needs the agent to hold them (CAP_SETPCAP).
  requires: { root: true, linux: true },
  honours: [
    'container.linux_info.capability_info',
    'container.linux_info.effective_capabilities',
    'container.linux_info.bounding_capabilities',
  ],
  create: (flags) =>
    createCapabilitiesIsolator({
      ...(flags.effective_capabilities ? { effective: flags.effective_capabilities } : {}),
      ...(flags.bounding_capabilities ? { bounding: flags.bounding_capabilities } : {}),
      lastCap: readLastCap(),
    }),
});

export default defineManifest(linuxCapabilities);
