import { readdirSync } from 'node:fs';
import { ContainerExistsError, type ContainerID, containerIdToString } from '@corral/core';
import { isRunning, readProcStat } from '@corral/procfs';
import { DestroyError, LaunchError } from './errors.ts';
import type {
  InitSpec,
  Launcher,
  LauncherRecovery,
  PendingInit,
  RecoverableInit,
} from './launcher.ts';
import { checkProcessExit } from './process.ts';
import { watchRecoveredInits } from './recovery.ts';
import { Spawner } from './spawner.ts';

const DESTROY_TIMEOUT_MS = 60_000;
const ZOMBIE_CHECK_AFTER_MS = 20;

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** kill(2) of `target` (a pid, or minus a process group id) that reports whether it existed. */
function sendKill(target: number): boolean {
  try {
    process.kill(target, 'SIGKILL');
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    throw error;
  }
}

/** What destroy needs to know of a container's init. */
interface TrackedInit {
  /** The init's pid, which is also its process group's id once it has called setsid(). */
  readonly pid: number;
  /**
   * True until the init's exit is known, while its pid is still its own: only then is it
   * signalled by pid as well as by group.
   */
  unreaped: boolean;
}

/** True when a process of the container is alive (not a zombie): scans /proc, so not cheap. */
function containerHasLiveProcesses(init: TrackedInit): boolean {
  if (init.unreaped && isRunning(init.pid)) return true;
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat !== undefined && stat.state !== 'Z' && stat.processGroup === init.pid) return true;
  }
  return false;
}

/**
 * SIGKILLs the container's process group until it is gone. The init calls setsid() itself, after
 * the spawner has said `ready`: until then its group is not its own, so an unreaped init is also
 * killed by pid (it cannot fork before its release, so nothing else escapes the group). Zombies
 * keep a group alive for kill(2) until their reaper collects them, which for orphans of a
 * recovered init is pid 1 and can take seconds on some hosts; a container whose processes are all
 * zombies is dead enough, so after a quick wait /proc is checked.
 */
async function killContainer(init: TrackedInit, timeoutMs: number): Promise<void> {
  const started = performance.now();
  let delay = 1;
  while (sendKill(-init.pid) || (init.unreaped && sendKill(init.pid))) {
    const elapsed = performance.now() - started;
    if (elapsed > ZOMBIE_CHECK_AFTER_MS && !containerHasLiveProcesses(init)) return;
    if (elapsed > timeoutMs) {
      throw new Error(`process group ${init.pid} still has members after ${timeoutMs} ms`);
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
  /** Container id string → its init, which leads the container's process group. */
  readonly #inits = new Map<string, TrackedInit | undefined>();
  readonly #spawner = new Spawner();

  async fork(id: ContainerID, spec: InitSpec): Promise<PendingInit> {
    const key = containerIdToString(id);
    if (this.#inits.has(key)) throw new ContainerExistsError(key);
    this.#inits.set(key, undefined); // reserved while the init starts
    try {
      const init = await this.#spawner.fork(spec);
      if (!this.#inits.has(key)) {
        sendKill(init.pid); // still our spawner's unreaped child: its pid is its own
        throw new LaunchError(`Container '${key}' was destroyed while its init was starting`);
      }
      const tracked: TrackedInit = { pid: init.pid, unreaped: true };
      const reaped = () => {
        tracked.unreaped = false;
      };
      init.exited.then(reaped, reaped);
      this.#inits.set(key, tracked);
      return init;
    } catch (error) {
      this.#inits.delete(key);
      throw error;
    }
  }

  async recover(expected: readonly RecoverableInit[]): Promise<LauncherRecovery> {
    const running = watchRecoveredInits(expected);
    for (const init of expected) {
      const key = containerIdToString(init.id);
      // Not our spawner's child: it called setsid() long ago, and only its group is signalled.
      if (running.has(key)) this.#inits.set(key, { pid: init.pid, unreaped: false });
    }
    // A process group cannot be discovered from the outside: there are never orphans.
    return { running, orphans: [] };
  }

  async destroy(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    const init = this.#inits.get(key);
    this.#inits.delete(key);
    if (init === undefined) return;
    try {
      await killContainer(init, DESTROY_TIMEOUT_MS);
    } catch (error) {
      throw new DestroyError(key, `failed to kill all processes: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // A recovered init is only polled for: look at once.
    checkProcessExit(init.pid);
  }
}
