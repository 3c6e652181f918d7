import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
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
 * crash leaves the old file or the new one, never a torn one. In the threadpool: on a disk-backed
 * runtime dir each create and rename is a journaled metadata update (~1 ms measured here), which
 * must not stall the event loop during a burst of launches. No fsync: the runtime dir is cleared
 * on reboot, and a kernel crash or power loss that could lose unsynced pages also ends every
 * container, so there would be nothing left to recover with the synced data.
 */
export async function writeCheckpoint(file: string, value: unknown): Promise<void> {
  const temp = `${file}.tmp`;
  await writeFile(temp, JSON.stringify(value), { mode: 0o600 });
  await rename(temp, file);
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
