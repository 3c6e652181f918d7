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
  CFS_PERIOD_US,
  type CpuController,
  type CpuLimits,
  type CpuUsage,
  hostOomKills,
  type MemoryController,
  type MemoryLimits,
  type MemoryUsage,
  type PidsController,
  quotaOf,
  SHARES_PER_CPU,
  sharesOf,
} from './controllers.ts';
export {
  destroyCgroup,
  type KillMethod,
  type KillOptions,
  killCgroupProcesses,
  killMethod,
} from './destroy.ts';
export {
  CgroupControllerUnavailableError,
  CgroupError,
  CgroupMountError,
  type CgroupMountFailure,
} from './errors.ts';
export {
  type ControllerLocation,
  cpuController,
  type LocateOptions,
  locateController,
  memoryController,
  pidsControllerFor,
} from './locate.ts';
export { findCgroup2Mount, findV1Hierarchy, type MountEntry, readMounts } from './mounts.ts';
export { pidsController } from './pids.ts';
export { readProcCgroups, type SubsystemInfo } from './proc-cgroups.ts';
export { v1Cpu } from './v1/cpu.ts';
export {
  type FreezerOptions,
  type FreezerState,
  freezeCgroup,
  hasFreezer,
  readFreezerState,
  thawCgroup,
} from './v1/freezer.ts';
export { prepareV1Hierarchy, unmountHierarchy } from './v1/hierarchy.ts';
export { v1Memory } from './v1/memory.ts';
export { v2Cpu } from './v2/cpu.ts';
export { supportsCgroupKill, writeCgroupKill } from './v2/kill.ts';
export { v2Memory } from './v2/memory.ts';
export { enableSubtreeControllers } from './v2/subtree.ts';
