import { findCgroup2Mount, findV1Hierarchy, readProcCgroups } from '@corral/cgroupfs';
import type { Launcher } from './launcher.ts';
import { LinuxLauncher } from './linux-launcher.ts';
import { PosixLauncher } from './posix-launcher.ts';

export interface CreateLauncherOptions {
  /** Default: `linux` when `linuxLauncherAvailable()`, else `posix`. */
  readonly kind?: 'linux' | 'posix';
  readonly cgroupsRoot: string;
  readonly cgroupsHierarchy?: string;
}

/**
 * Whether the linux launcher can work here (Mesos' `LinuxLauncher::available`, narrowed to root):
 * running as root with a cgroup2 mount or the v1 freezer subsystem enabled.
 */
export function linuxLauncherAvailable(): boolean {
  if (process.geteuid?.() !== 0) return false;
  if (findCgroup2Mount() !== undefined || findV1Hierarchy('freezer') !== undefined) return true;
  return readProcCgroups().some((subsystem) => subsystem.name === 'freezer' && subsystem.enabled);
}

/** The launcher the agent's `--launcher` flag asks for, or the best available one. */
export function createLauncher(options: CreateLauncherOptions): Launcher {
  const kind = options.kind ?? (linuxLauncherAvailable() ? 'linux' : 'posix');
  if (kind === 'posix') return new PosixLauncher();
  return new LinuxLauncher({
    cgroupsRoot: options.cgroupsRoot,
    cgroupsHierarchy: options.cgroupsHierarchy,
  });
}
