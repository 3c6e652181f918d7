export {
  assignProcess,
  assignProcessAsync,
  cgroupExists,
  cgroupPath,
  createCgroup,
  type ListChildCgroupsOptions,
  listChildCgroups,
  listProcesses,
  type ProcessCgroup,
  processCgroups,
  readControl,
  removeCgroup,
  writeControl,
} from './cgroup.ts';
export {
  destroyCgroup,
  type KillMethod,
  type KillOptions,
  killCgroupProcesses,
  killMethod,
} from './destroy.ts';
export { CgroupError, CgroupMountError, type CgroupMountFailure } from './errors.ts';
export { findCgroup2Mount, findV1Hierarchy, type MountEntry, readMounts } from './mounts.ts';
export { readProcCgroups, type SubsystemInfo } from './proc-cgroups.ts';
export {
  type FreezerOptions,
  type FreezerState,
  freezeCgroup,
  hasFreezer,
  readFreezerState,
  thawCgroup,
} from './v1/freezer.ts';
export { prepareV1Hierarchy, unmountHierarchy } from './v1/hierarchy.ts';
export { supportsCgroupKill, writeCgroupKill } from './v2/kill.ts';
