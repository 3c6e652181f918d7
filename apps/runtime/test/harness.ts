import {
  type ChildProcess,
  execFileSync,
  type SpawnOptions,
  spawn,
  spawnSync,
} from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCgroup, readMounts } from '@corral/cgroupfs';
import { listeningUrl } from '@corral/test-support/agent-log';
import { captureOutput } from '@corral/test-support/child-output';

const AGENT_BIN = fileURLToPath(
  new URL('../node_modules/@corral/agent/bin/corral-agent.js', import.meta.url),
);
export const RUNC_BIN = fileURLToPath(new URL('../bin/corral-runc.js', import.meta.url));

/** What the tests read of a `/containers` entry. */
export interface ContainerEntry {
  readonly container_id: string;
  readonly labels?: {
    readonly labels: readonly { readonly key: string; readonly value: string }[];
  };
  readonly status?: { readonly cgroup_info?: { readonly net_cls?: { readonly classid?: number } } };
}

/** The runtime id an entry carries (`corral.runtime.id`), if any. */
export function runtimeIdOf(entry: ContainerEntry | undefined): string | undefined {
  return entry?.labels?.labels.find((label) => label.key === 'corral.runtime.id')?.value;
}

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

/** A bundle directory (world-readable) with `rootfs -> /` and this config.json. */
export function makeBundle(parent: string, name: string, config: unknown): string {
  const bundle = join(parent, name);
  mkdirSync(bundle, { recursive: true, mode: 0o755 });
  symlinkSync('/', join(bundle, 'rootfs'));
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config), { mode: 0o644 });
  return bundle;
}

/** A minimal runtime-spec config running `args` as root in `/`. */
export function ociConfig(args: readonly string[], extra: Record<string, unknown> = {}) {
  return {
    ociVersion: '1.0.2',
    process: {
      user: { uid: 0, gid: 0 },
      args,
      cwd: '/',
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    },
    root: { path: 'rootfs' },
    mounts: [],
    linux: {},
    ...extra,
  };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export type CapturedChild = ChildProcess & { readonly result: Promise<RunResult> };

/** Starts a command with piped stdout and stderr; `result` resolves once it has closed them. */
export function spawnCaptured(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): CapturedChild {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const result = once(child, 'close').then(() => ({
    status: child.exitCode,
    stdout: output.stdout(),
    stderr: output.stderr(),
  }));
  return Object.assign(child, { result });
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

/** Polls `check` every 20 ms until it returns true, for at most `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true after ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
