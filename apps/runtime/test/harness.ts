import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCgroup, readMounts } from '@corral/cgroupfs';
import { listeningUrl } from '@corral/test-support/agent-log';
import {
  type CapturedChild,
  type RunResult,
  spawnCaptured,
} from '@corral/test-support/child-output';
import type { ContainerEntry } from '@corral/test-support/oci-bundle';

export { spawnCaptured } from '@corral/test-support/child-output';
export { eventually } from '@corral/test-support/eventually';
export {
  type ContainerEntry,
  makeBundle,
  ociConfig,
  runtimeIdOf,
} from '@corral/test-support/oci-bundle';

const AGENT_BIN = fileURLToPath(
  new URL('../node_modules/@corral/agent/bin/corral-agent.js', import.meta.url),
);
export const RUNC_BIN = fileURLToPath(new URL('../bin/corral-runc.js', import.meta.url));

export interface TestAgent {
  readonly url: string;
  readonly socket: string;
  readonly cgroupsRoot: string;
  readonly logs: string[];
  /** Stops it as a crash would (SIGKILL): containers keep running. */
  crash(): Promise<void>;
  /** Starts it again on the same dirs, socket and cgroups root; resolves once recovered. */
  restart(): Promise<void>;
  containers(): Promise<ContainerEntry[]>;
}

interface Started {
  agent: TestAgent;
  dir: string;
  child: () => ChildProcess;
}
const started: Started[] = [];

/**
 * Starts the built agent with a runtime socket, its own temp dirs (world-traversable, for test
 * users), cgroups root and net_cls primary handle; resolves once it has recovered.
 */
export async function startAgent(options: {
  readonly primaryHandle: string;
  readonly socketUsers?: string;
}): Promise<TestAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-runc-test-'));
  chmodSync(dir, 0o755);
  const socket = join(dir, 'runtime.sock');
  const cgroupsRoot = `corral-runc-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const args = [
    AGENT_BIN,
    '--port=0',
    `--work_dir=${join(dir, 'work')}`,
    `--runtime_dir=${join(dir, 'run')}`,
    `--cgroups_root=${cgroupsRoot}`,
    '--isolation=cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem',
    `--cgroups_net_cls_primary_handle=${options.primaryHandle}`,
    `--runtime_socket=${socket}`,
    `--runtime_socket_users=${options.socketUsers ?? ''}`,
  ];
  let child: ChildProcess;
  let url = '';
  const logs: string[] = [];
  const launch = async () => {
    child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    url = await listeningUrl(child, logs);
    for (let tries = 0; (await fetch(`${url}/state`)).status !== 200; tries++) {
      if (tries > 400) throw new Error(`agent did not recover:\n${logs.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  const agent: TestAgent = {
    get url() {
      return url;
    },
    socket,
    cgroupsRoot,
    logs,
    async crash() {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    restart: launch,
    async containers() {
      return (await (await fetch(`${url}/containers`)).json()) as ContainerEntry[];
    },
  };
  started.push({ agent, dir, child: () => child });
  await launch();
  return agent;
}

/**
 * Destroys every container of every agent the test started (SIGKILL through the API), stops the
 * agents, and removes their dirs and cgroups roots even when the API is gone.
 */
export async function cleanUpAgents(): Promise<void> {
  const all = started.splice(0);
  for (const { agent, child } of all) {
    try {
      for (const { container_id } of await agent.containers()) {
        const body = (type: string, field: string) =>
          JSON.stringify({ type, [field]: { container_id: { value: container_id } } });
        const post = (payload: string) =>
          fetch(`${agent.url}/api/v1`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: payload,
          });
        await post(body('KILL_CONTAINER', 'kill_container'));
        await post(body('WAIT_CONTAINER', 'wait_container'));
      }
    } catch {
      // The agent is already gone: its cgroups are destroyed below.
    }
    const process = child();
    if (process.exitCode === null && process.signalCode === null) {
      const exited = once(process, 'exit');
      process.kill('SIGTERM');
      await exited;
    }
  }
  const hierarchies = readMounts()
    .filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2')
    .map((mount) => mount.target);
  for (const { agent, dir } of all) {
    for (const hierarchy of hierarchies) {
      if (existsSync(join(hierarchy, agent.cgroupsRoot))) {
        await destroyCgroup(hierarchy, agent.cgroupsRoot, { timeoutMs: 10_000 });
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where a cgroups root's leftovers would be, for leak checks. */
export function cgroupDirs(cgroupsRoot: string): string[] {
  return readMounts()
    .filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2')
    .map((mount) => join(mount.target, cgroupsRoot))
    .filter((path) => existsSync(path));
}

/** Starts `corral-runc --agent SOCKET ARGS…` (the built bin), as `user` if given. */
export function spawnRunc(
  socket: string,
  args: readonly string[],
  user?: { readonly uid: number; readonly gid: number },
): CapturedChild {
  return spawnCaptured(process.execPath, [RUNC_BIN, '--agent', socket, ...args], user ?? {});
}

export function runc(
  socket: string,
  args: readonly string[],
  user?: { readonly uid: number; readonly gid: number },
): Promise<RunResult> {
  return spawnRunc(socket, args, user).result;
}

/** A host user for the test (created, and removed by the returned function). */
export function testUser(name: string): { uid: number; gid: number; remove(): void } {
  // A user left behind by an interrupted earlier run.
  if (spawnSync('id', ['-u', name]).status === 0) execFileSync('userdel', [name]);
  execFileSync('useradd', ['--no-create-home', '--user-group', '--shell', '/bin/sh', name]);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }));
  return { uid, gid, remove: () => execFileSync('userdel', [name]) };
}
