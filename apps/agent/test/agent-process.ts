import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { listeningUrl } from '@corral/test-support/agent-log';

const BIN = new URL('../bin/corral-agent.js', import.meta.url).pathname;

export interface RunningAgent {
  readonly url: string;
  readonly child: ChildProcess;
  readonly logs: string[];
  /** Sends `signal` and resolves with the exit code (null when killed by a signal). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
  /** POSTs a v1 call. */
  call(body: unknown): Promise<Response>;
  get(path: string): Promise<Response>;
}

/** Flags of a test's own agent: its dirs under `dir`, its cgroups under `cgroupsRoot`. */
export function agentDirFlags(dir: string, cgroupsRoot: string): string[] {
  return [
    `--work_dir=${join(dir, 'work')}`,
    `--runtime_dir=${join(dir, 'run')}`,
    `--cgroups_root=${cgroupsRoot}`,
    '--launcher=linux',
  ];
}

/** Flags of an agent with the full isolation, its dirs under `dir`, its cgroups under `cgroupsRoot`. */
export function isolatedAgentFlags(dir: string, cgroupsRoot: string): string[] {
  return [
    ...agentDirFlags(dir, cgroupsRoot),
    '--isolation=cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem',
    '--cgroups_net_cls_primary_handle=0x19',
  ];
}

/** Starts the built agent (`bin/corral-agent.js`) and resolves once it listens. */
export async function startAgent(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<RunningAgent> {
  const child = spawn(process.execPath, [BIN, '--port=0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const logs: string[] = [];
  const url = await listeningUrl(child, logs);
  return {
    url,
    child,
    logs,
    async stop(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
    call: (body) =>
      fetch(`${url}/api/v1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    get: (path) => fetch(`${url}${path}`),
  };
}

/** Waits until /state answers 200 (recovery done) and returns it. */
export async function recoveredState(agent: RunningAgent, timeoutMs = 10_000): Promise<StateJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await agent.get('/state');
    if (response.status === 200) return (await response.json()) as StateJson;
    if (Date.now() > deadline) throw new Error(`/state still answers ${response.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP port free on 127.0.0.1 a moment ago, for a server whose port must be known in advance. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  return typeof address === 'object' && address ? address.port : 0;
}

/** Runs the agent to completion (for start-up errors). */
export function runAgent(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

export interface StatusJson {
  readonly state: string;
  readonly container_status?: {
    readonly container_id: { readonly value: string };
    readonly cgroup_info?: { readonly net_cls?: { readonly classid?: number } };
    readonly executor_pid?: number;
  };
}

export interface TaskJson {
  readonly id: string;
  readonly state: string;
  readonly statuses: readonly StatusJson[];
}

export interface StateJson {
  readonly frameworks: readonly {
    readonly executors: readonly { readonly id: string; readonly tasks: readonly TaskJson[] }[];
    readonly completed_executors: readonly {
      readonly id: string;
      readonly completed_tasks: readonly TaskJson[];
    }[];
  }[];
}

export function runningTasks(state: StateJson): TaskJson[] {
  return state.frameworks.flatMap((framework) =>
    framework.executors.flatMap((executor) => executor.tasks),
  );
}

export interface WaitJson {
  readonly wait_container: { readonly exit_status?: number; readonly state?: string };
}
