import { readdirSync } from 'node:fs';
import { ContainerExistsError, type ContainerID, containerIdToString } from '@corral/core';
import { readProcStat } from '@corral/procfs';
import { DestroyError, LaunchError } from './errors.ts';
import type { InitSpec, Launcher, PendingInit, RecoverableInit } from './launcher.ts';
import { checkProcessExit } from './process.ts';
import { watchRecoveredInits } from './recovery.ts';
import { Spawner } from './spawner.ts';

const DESTROY_TIMEOUT_MS = 60_000;
const ZOMBIE_CHECK_AFTER_MS = 20;

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** kill(2) that reports whether the target existed; ESRCH is not an error here. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}

/** True when a process of group `pgid` is alive (not a zombie): scans /proc, so not cheap. */
function groupHasLiveMembers(pgid: number): boolean {
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat !== undefined && stat.state !== 'Z' && stat.processGroup === pgid) return true;
  }
  return false;
}

/**
 * SIGKILLs process group `pgid` until it is gone. Zombies keep a group alive for kill(2) until
 * their reaper collects them, which for orphans is pid 1 and can take seconds on some hosts; a
 * group whose members are all zombies is dead enough, so after a quick wait /proc is checked.
 */
async function killProcessGroup(pgid: number, timeoutMs: number): Promise<void> {
  const started = performance.now();
  let delay = 1;
  while (signalGroup(pgid, 'SIGKILL')) {
    const elapsed = performance.now() - started;
    if (elapsed > ZOMBIE_CHECK_AFTER_MS && !groupHasLiveMembers(pgid)) return;
    if (elapsed > timeoutMs) {
      throw new Error(`process group ${pgid} still has members after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * Tracks each container by the process group of its init (the spawner forks each init into a
 * session of its own, so it leads its own group). Processes that leave the group (setsid, setpgid) escape destroy: use
 * the linux launcher where that matters.
 */
export class PosixLauncher implements Launcher {
  readonly kind = 'posix';
  /** Container id string → process group id (the init's pid). */
  readonly #groups = new Map<string, number | undefined>();
  readonly #spawner = new Spawner();

  async fork(id: ContainerID, spec: InitSpec): Promise<PendingInit> {
    const key = containerIdToString(id);
    if (this.#groups.has(key)) throw new ContainerExistsError(key);
    this.#groups.set(key, undefined); // reserved while the init starts
    try {
      const init = await this.#spawner.fork(spec);
      if (!this.#groups.has(key)) {
        init.abort();
        throw new LaunchError(`Container '${key}' was destroyed while its init was starting`);
      }
      this.#groups.set(key, init.pid);
      return init;
    } catch (error) {
      this.#groups.delete(key);
      throw error;
    }
  }

  async recover(expected: readonly RecoverableInit[]): Promise<{
    readonly running: ReadonlyMap<string, Promise<number>>;
    readonly orphans: readonly ContainerID[];
  }> {
    const running = watchRecoveredInits(expected);
    for (const init of expected) {
      const key = containerIdToString(init.id);
      if (running.has(key)) this.#groups.set(key, init.pid);
    }
    // A process group cannot be discovered from the outside: there are never orphans.
    return { running, orphans: [] };
  }

  async destroy(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    const pgid = this.#groups.get(key);
    this.#groups.delete(key);
    if (pgid === undefined) return;
    try {
      await killProcessGroup(pgid, DESTROY_TIMEOUT_MS);
    } catch (error) {
      throw new DestroyError(key, `failed to kill all processes: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // The init leads the group (setsid); one recovered after a restart is only polled for.
    checkProcessExit(pgid);
  }
}
