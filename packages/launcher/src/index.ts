export {
  type CreateLauncherOptions,
  createLauncher,
  linuxLauncherAvailable,
} from './create-launcher.ts';
export { DestroyError, LaunchError, RecoveryError } from './errors.ts';
export type {
  InitSpec,
  InitUser,
  Launcher,
  LauncherRecovery,
  PendingInit,
  RecoverableInit,
} from './launcher.ts';
export {
  DEFAULT_CGROUPS_HIERARCHY,
  LinuxLauncher,
  type LinuxLauncherOptions,
  type TrackingCgroups,
} from './linux-launcher.ts';
export { PosixLauncher } from './posix-launcher.ts';
export {
  isSameProcess,
  KILLED_STATUS,
  readExitStatus,
  readProcessStartTime,
  watchProcessExit,
} from './process.ts';
export { Spawner } from './spawner.ts';
