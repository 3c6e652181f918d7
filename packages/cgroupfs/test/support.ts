import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { assignProcess } from '../src/cgroup.ts';
import { errnoOf } from '../src/errors.ts';

/** A cgroup name no other test run uses, so parallel runs never collide. */
export function uniqueRoot(): string {
  return `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Starts `sh -c script` inside `cgroup`: the shell is moved in before it runs the script, so
 * everything the script forks starts inside too. Each tree is its own process group, so a test's
 * cleanup can kill it without relying on the code under test.
 */
export async function spawnInCgroup(
  hierarchy: string,
  cgroup: string,
  script: string,
): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', `read go; ${script}`], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  await once(child, 'spawn');
  if (child.pid === undefined) throw new Error('sh did not start');
  try {
    assignProcess(hierarchy, cgroup, child.pid);
  } catch (error) {
    killGroup(child);
    throw error;
  }
  child.stdin?.write('go\n');
  return child;
}

/** SIGKILLs the process group of a tree started by `spawnInCgroup`; a no-op once it is gone. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (error) {
    // ESRCH: the whole group is already gone, which is what cleanup wants.
    if (errnoOf(error) !== 'ESRCH') throw error;
  }
}

/**
 * What the kernel says about `pid`: undefined once it is gone, else its state letter (`S`, `R`,
 * `Z` for a zombie: dead, waiting for its parent, possibly init, to reap it).
 */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch (error) {
    if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ESRCH') return undefined;
    throw error;
  }
}

export function isRunning(pid: number): boolean {
  const state = processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}
