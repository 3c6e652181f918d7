export { normalizeCapability, parseCapabilityInfo } from './capability-sets.ts';
export { capabilityFlags } from './flags.ts';
export {
  type CapabilitySets,
  type CapabilitySettings,
  capabilitySetsOf,
  createCapabilitiesIsolator,
  readLastCap,
} from './isolator.ts';
export { default, linuxCapabilities } from './manifest.ts';
