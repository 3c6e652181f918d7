export { ipcFlags } from './flags.ts';
export {
  createIpcIsolator,
  type IpcIsolatorOptions,
  ipcLaunchInfo,
  SHM_MOUNT_POINT,
} from './isolator.ts';
export { default, namespacesIpc } from './manifest.ts';
export {
  IPC_MODE_FIELD,
  type IpcPolicy,
  type IpcSettings,
  resolveIpcSettings,
  SHM_SIZE_FIELD,
} from './options.ts';
