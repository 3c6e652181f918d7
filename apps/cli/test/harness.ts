import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCgroup, readMounts } from '@corral/cgroupfs';
import { listeningUrl } from '@corral/test-support/agent-log';
import { captureOutput } from '@corral/test-support/child-output';

const AGENT_BIN = fileURLToPath(
  new URL('../node_modules/@corral/agent/bin/corral-agent.js', import.meta.url),
);
export const CLI_BIN = fileURLToPath(new URL('../bin/corral.js', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The isolation the issue's quickstart runs with, on its own cgroups root. */
const ISOLATION = [
  '--isolation=cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem',
  '--cgroups_net_cls_primary_handle=0x19',
];

export interface Credentials {
  readonly principal: string;
  readonly secret: string;
}

export interface TestAgent {
  readonly url: string;
  readonly dir: string;
  readonly workDir: string;
  readonly cgroupsRoot: string;
  readonly logs: string[];
  readonly credentials?: Credentials;
  /** GET or POST with the agent's credentials, if any. */
  request(path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

const agents: TestAgent[] = [];

/**
 * Starts the built agent on a free port with its own temp dirs and cgroups root, and resolves
 * once it listens and has recovered. `credentials` turns on basic auth for both realms.
 */
export async function startAgent(options: { credentials?: Credentials } = {}): Promise<TestAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-cli-test-'));
  const cgroupsRoot = `corral-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const auth: string[] = [];
  if (options.credentials) {
    const file = join(dir, 'credentials.json');
    writeFileSync(file, JSON.stringify({ credentials: [options.credentials] }));
    auth.push(
      '--authenticate_http_readonly',
      '--authenticate_http_readwrite',
      `--http_credentials=${file}`,
    );
  }
  const child = spawn(
    process.execPath,
    [
      AGENT_BIN,
      '--port=0',
      `--work_dir=${join(dir, 'work')}`,
      `--runtime_dir=${join(dir, 'run')}`,
      `--cgroups_root=${cgroupsRoot}`,
      ...ISOLATION,
      ...auth,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logs: string[] = [];
  const stopped = once(child, 'exit');
  let url = '';
  const agent: TestAgent = {
    get url() {
      return url;
    },
    dir,
    workDir: join(dir, 'work'),
    cgroupsRoot,
    logs,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    request(path, body) {
      const headers = new Headers();
      if (options.credentials) {
        const { principal, secret } = options.credentials;
        headers.set(
          'authorization',
          `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`,
        );
      }
      if (body !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await stopped;
    },
  };
  agents.push(agent);
  url = await listeningUrl(child, logs);
  // /state answers 503 until recovery is done.
  for (let tries = 0; (await agent.request('/state')).status !== 200; tries++) {
    if (tries > 200) throw new Error(`agent did not recover:\n${logs.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return agent;
}

/**
 * Kills every container of every agent started by the test (through the API while the agent
 * runs), stops the agents, and removes their dirs and cgroups roots even if the API is gone.
 */
export async function cleanUpAgents(): Promise<void> {
  const all = agents.splice(0);
  for (const agent of all) {
    try {
      const response = await agent.request('/containers');
      if (response.ok) {
        for (const { container_id: id } of (await response.json()) as { container_id: string }[]) {
          const container_id = { value: id };
          await agent.request('/api/v1', {
            type: 'KILL_CONTAINER',
            kill_container: { container_id },
          });
          await agent.request('/api/v1', {
            type: 'WAIT_CONTAINER',
            wait_container: { container_id },
          });
        }
      }
    } catch {
      // The agent is already gone: its cgroups are destroyed below.
    }
    await agent.stop();
  }
  const hierarchies = readMounts()
    .filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2')
    .map((mount) => mount.target);
  for (const agent of all) {
    for (const hierarchy of hierarchies) {
      if (existsSync(join(hierarchy, agent.cgroupsRoot))) {
        await destroyCgroup(hierarchy, agent.cgroupsRoot, { timeoutMs: 10_000 });
      }
    }
    rmSync(agent.dir, { recursive: true, force: true });
  }
}

/**
 * Runs the repository's `scripts/link-cli.mjs` into a fresh temp dir and returns that dir, which
 * then holds a `corral` shim: the tests' PATH gets it instead of a system bin dir.
 */
export function linkCliInto(repo = REPO_ROOT): string {
  const dir = mkdtempSync(join(tmpdir(), 'corral-bin-'));
  const result = spawnSync(process.execPath, [join(repo, 'scripts/link-cli.mjs')], {
    env: { ...process.env, CORRAL_BIN_DIR: dir },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`link-cli.mjs failed: ${result.stderr}`);
  return dir;
}

export interface CorralResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment the CLI sees: the test's, without a user's CORRAL_* settings. */
export function cliEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CORRAL_')),
  );
  return { ...env, ...extra };
}

/** Starts `corral ARGS…` (the built bin) against `agentUrl`. */
export function spawnCorral(
  agentUrl: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): ChildProcess & { result: Promise<CorralResult>; output(): string } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: cliEnv({ CORRAL_AGENT: agentUrl, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  const result = once(child, 'close').then(() => ({
    status: child.exitCode,
    stdout: output.stdout(),
    stderr: output.stderr(),
  }));
  return Object.assign(child, { result, output: output.stdout });
}

/** Runs `corral ARGS…` to completion. */
export function corral(
  agentUrl: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CorralResult> {
  return spawnCorral(agentUrl, args, env).result;
}
