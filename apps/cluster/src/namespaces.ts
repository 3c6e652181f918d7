import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readMounts } from '@corral/cgroupfs';
import { isRunning } from '@corral/procfs';
import { ClusterCommandError } from './errors.ts';

/**
 * The kernel objects a cluster is made of: named network namespaces (`ip netns`), UTS namespaces
 * kept alive by a bind mount on a file (`unshare --uts=FILE`), a bridge and veths that exist only
 * inside those network namespaces, and the processes that live in them.
 */

/** Runs a command to completion; throws naming it, its status and its stderr when it fails. */
export function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) {
    throw new ClusterCommandError(
      `'${[command, ...args].join(' ')}' failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}): ${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

export const netnsPath = (name: string) => `/run/netns/${name}`;

/** `nsenter` arguments that run the rest of a command line in these namespaces. */
export function nsenterArgs(netns: string, uts?: string): string[] {
  return [`--net=${netnsPath(netns)}`, ...(uts ? [`--uts=${uts}`] : []), '--'];
}

export function createNetns(name: string): void {
  run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Removes the name; the namespace itself goes once no process is left in it. */
export function deleteNetns(name: string): void {
  if (existsSync(netnsPath(name))) run('ip', ['netns', 'delete', name]);
}

/** A bridge with `address` (CIDR) in `netns`. */
export function createBridge(netns: string, bridge: string, address: string): void {
  run('ip', ['-n', netns, 'link', 'add', bridge, 'type', 'bridge']);
  run('ip', ['-n', netns, 'addr', 'add', address, 'dev', bridge]);
  run('ip', ['-n', netns, 'link', 'set', bridge, 'up']);
}

/**
 * A veth from `bridge` in `switchNetns` (end `port`) to `eth0` with `address` (CIDR) in
 * `nodeNetns`: it is created in the switch namespace, so no end ever appears in ours.
 */
export function plugIn(
  switchNetns: string,
  bridge: string,
  port: string,
  nodeNetns: string,
  address: string,
): void {
  run('ip', [
    '-n',
    switchNetns,
    'link',
    'add',
    port,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    nodeNetns,
  ]);
  run('ip', ['-n', switchNetns, 'link', 'set', port, 'master', bridge, 'up']);
  run('ip', ['-n', nodeNetns, 'addr', 'add', address, 'dev', 'eth0']);
  run('ip', ['-n', nodeNetns, 'link', 'set', 'eth0', 'up']);
}

/** A UTS namespace with `hostname`, kept alive by a bind mount on `file`. */
export function createUts(file: string, hostname: string): void {
  writeFileSync(file, '');
  run('unshare', [`--uts=${file}`, 'hostname', hostname]);
}

export function removeUts(file: string): void {
  if (readMounts().some((mount) => mount.target === file)) run('umount', [file]);
  rmSync(file, { force: true });
}

/** The namespace's inode, which /proc/<pid>/ns/net of its members shows; undefined if gone. */
export function netnsInode(name: string): number | undefined {
  try {
    return statSync(netnsPath(name)).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Live processes whose network namespace is one of `inodes`. */
export function processesIn(inodes: ReadonlySet<number>): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (inodes.has(statSync(`/proc/${pid}/ns/net`).ino) && isRunning(pid)) pids.push(pid);
    } catch (error) {
      // It exited while we looked, or it is a kernel thread we may not inspect.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ESRCH' && code !== 'EACCES') throw error;
    }
  }
  return pids;
}

/** SIGKILLs `pids` and waits (at most `timeoutMs`) until none is running. */
export async function killAndWait(pids: readonly number[], timeoutMs: number): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(isRunning);
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new ClusterCommandError(
        `processes ${left.join(', ')} still run ${timeoutMs} ms after SIGKILL`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
