export { type CgroupTree, hierarchyTree } from './cgroup-tree.ts';
export { type CommandRunner, EgressCommandError, runCommand } from './egress/command.ts';
export {
  cgroup2Keys,
  checkInterfaces,
  defaultRouteInterfaces,
  Egress,
  type EgressEntry,
  type EgressInstallation,
  type EgressOptions,
  type EgressShaping,
  networkInterfaces,
  probeShaping,
  retireEgress,
  teardownEgress,
} from './egress/egress.ts';
export { EgressInterfaceError, EgressUnsupportedError } from './egress/errors.ts';
export {
  ACCOUNTING_FLAG,
  type EgressSettings,
  egressFlags,
  egressSettings,
  INTERFACES_FLAG,
  MAX_SHAPING_PRIMARY,
  parseInterfaces,
  RATE_FLAG,
} from './egress/flags.ts';
export { type Counters, type EgressKeyKind, egressKeys, tableScript } from './egress/nft.ts';
export { MAX_RATE, MIN_RATE, parseRate } from './egress/rate.ts';
export type { LeafKind } from './egress/tc.ts';
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
export { EGRESS_LIMIT, NetClsIsolator, type NetClsIsolatorOptions } from './isolator.ts';
export { cgroupsNetCls, default, egressTable } from './manifest.ts';
