import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type ContainerID, containerIdToString } from '@corral/core';

/** Layout of `<runtime_dir>/containers/<id>/` (after Mesos' runtime dir, §2.8). */
export const CHECKPOINT = {
  /** The ContainerConfig the container was launched with. */
  config: 'config.json',
  /** The merged launch info handed to the launcher. */
  launchInfo: 'launch_info.json',
  /** `{pid, start_time}` of the init: with the start time, a recycled pid is never mistaken for it. */
  init: 'init.json',
  /** The command's wait status, written by the init helper when the command exits. */
  status: 'status',
} as const;

export interface InitCheckpoint {
  readonly pid: number;
  readonly start_time: number;
}

export function containerRuntimeDir(runtimeDir: string, id: ContainerID): string {
  return join(runtimeDir, 'containers', containerIdToString(id));
}

/**
 * Writes `value` as JSON atomically: a temp file in the same directory, then rename, so an agent
 * crash leaves the old file or the new one, never a torn one. No fsync: the runtime dir is
 * cleared on reboot, and a kernel crash or power loss that could lose unsynced pages also ends
 * every container, so there would be nothing left to recover with the synced data (measured:
 * fsync was ~0.3 ms of each write on the launch path).
 */
export function writeCheckpoint(file: string, value: unknown): void {
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value));
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/** The parsed checkpoint, or undefined when the file does not exist. */
export function readCheckpoint<T>(file: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
}
