export { CAPABILITIES, capabilityNumber } from './capabilities.ts';
export { cgroupsFlags } from './cgroups-flags.ts';
export type {
  CapabilityRequest,
  CommandInfo,
  ContainerConfig,
  ContainerInfo,
  ContainerState,
  Environment,
  EnvironmentVariable,
  IpcMode,
  LinuxInfo,
  Parameters,
  Resource,
  RLimit,
  RLimitInfo,
  RLimitType,
  ScalarValue,
  Volume,
} from './container-config.ts';
export {
  type ContainerID,
  containerIdToString,
  MAX_CONTAINER_ID_BYTES,
  parseContainerId,
  rootContainerId,
  validateContainerId,
  validateContainerIdValue,
} from './container-id.ts';
export type {
  CgroupInfo,
  ContainerPrivileges,
  ContainerStatus,
  IpAddress,
  Label,
  NetworkInfo,
  PortMapping,
} from './container-status.ts';
export {
  type CgroupsSettings,
  type IsolatorContext,
  type Logger,
  silentLogger,
} from './context.ts';
export { writeFileDurably } from './durable-file.ts';
export {
  ContainerExistsError,
  type ContainerIdRule,
  CorralError,
  InvalidContainerConfigError,
  InvalidContainerIdError,
  InvalidFlagError,
  InvalidIsolationError,
  InvalidManifestError,
  isCorralError,
  RequirementNotMetError,
  ResourceExhaustedError,
  UnknownContainerError,
  UnsupportedApiVersionError,
} from './errors.ts';
export {
  type CustomOptions,
  type EnumOptions,
  type FlagSpec,
  type FlagSpecs,
  type FlagType,
  type FlagValues,
  flag,
  type IntegerOptions,
  parseBytes,
  parseFlag,
  parseFlags,
  parseInteger,
  pathList,
} from './flags.ts';
export { isValidIsolatorName, parseIsolationList } from './isolation-list.ts';
export type { Isolator, MaybePromise } from './isolator.ts';
export { KeyedQueue } from './keyed-queue.ts';
export {
  covers,
  isEmpty,
  isLaunchFieldPath,
  KNOWN_LAUNCH_FIELDS,
  type KnownLaunchField,
  knownLaunchField,
  type LaunchFieldPath,
  type LaunchFieldsInput,
  resourceField,
  setLaunchFields,
  valueAt,
} from './launch-fields.ts';
export {
  type Capability,
  type CapabilityInfo,
  type ContainerLaunchInfo,
  type ContainerMountInfo,
  type MountFlag,
  NAMESPACES,
  type Namespace,
} from './launch-info.ts';
export {
  defineIsolator,
  defineManifest,
  findIsolatorDefinition,
  ISOLATOR_API_VERSION,
  type IsolatorDefinition,
  type IsolatorManifest,
  type IsolatorRequirements,
  validateManifest,
} from './manifest.ts';
export { type HostFacts, thisHost, unmetRequirement } from './requirements.ts';
export type { ResourceStatistics } from './resource-statistics.ts';
export type {
  ContainerLimitation,
  ContainerTermination,
  TaskState,
  TaskStatusReason,
} from './termination.ts';
