export {
  CHECKPOINT,
  containerRuntimeDir,
  type InitCheckpoint,
  isTmpfs,
  type LaunchCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from './checkpoint.ts';
export {
  type ContainerEvent,
  Containerizer,
  type ContainerizerOptions,
  type ContainerSnapshot,
  type ContainerStateName,
  type ContainerStep,
  type LaunchRequest,
  type NamedIsolator,
  type RecoveryResult,
} from './containerizer.ts';
export { LaunchInfoConflictError, UnsupportedLaunchInfoError } from './errors.ts';
export { buildInitSpec, type CommandPrivileges, commandArgv, DEFAULT_PATH } from './init-spec.ts';
export { ENGINE_LAUNCH_FIELDS } from './launch-fields.ts';
export { type IsolatorLaunchInfo, mergeLaunchInfos } from './launch-info-merge.ts';
export { mergeStatistics, mergeStatuses } from './merge-reports.ts';
export {
  type CommandIdentity,
  commandIdentity,
  NO_NEW_PRIVILEGES_POLICIES,
  type NoNewPrivilegesPolicy,
} from './privileges.ts';
export { exitCodeOf, signalOf, terminationOf } from './termination.ts';
export { HOST_USER_FILES, type HostUser, lookUpUser, type UserFiles, userNameOf } from './users.ts';
