export { type CgroupTree, hierarchyTree } from './cgroup-tree.ts';
export {
  NetClsCgroupExistsError,
  NetClsClassidError,
  NetClsHandleConflictError,
  NetClsHandleInUseError,
  NetClsHandleNotAllocatedError,
  NetClsHandleOutOfRangeError,
} from './errors.ts';
export {
  type ManagedHandles,
  managedHandles,
  netClsFlags,
  PRIMARY_FLAG,
  parseSecondaryRange,
  SECONDARY_FLAG,
} from './flags.ts';
export {
  classidOf,
  DEFAULT_SECONDARIES,
  describeHandle,
  type HandleRange,
  handleOf,
  MAX_HANDLE,
  type NetClsHandle,
  NetClsHandleManager,
  type NetClsHandleManagerOptions,
} from './handle-manager.ts';
export { NetClsIsolator, type NetClsIsolatorOptions } from './isolator.ts';
export { cgroupsNetCls, default } from './manifest.ts';
