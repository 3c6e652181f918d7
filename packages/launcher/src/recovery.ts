import { containerIdToString } from '@corral/core';
import { RecoveryError } from './errors.ts';
import type { RecoverableInit } from './launcher.ts';
import { isSameProcess, watchProcessExit } from './process.ts';

/**
 * The exit watches of the checkpointed inits that still run (same pid and start time), by
 * container id string. Two containers claiming one pid means the checkpoints are corrupt.
 */
export function watchRecoveredInits(
  expected: readonly RecoverableInit[],
): Map<string, Promise<number>> {
  const running = new Map<string, Promise<number>>();
  const owners = new Map<number, string>();
  for (const init of expected) {
    const key = containerIdToString(init.id);
    const owner = owners.get(init.pid);
    if (owner !== undefined) {
      throw new RecoveryError(
        `Detected duplicate pid ${init.pid} for containers '${owner}' and '${key}'`,
      );
    }
    owners.set(init.pid, key);
  }
  for (const init of expected) {
    if (isSameProcess(init.pid, init.startTime)) {
      running.set(
        containerIdToString(init.id),
        watchProcessExit(init.pid, init.startTime, init.statusFile),
      );
    }
  }
  return running;
}
