// Starts the built agent (`apps/agent/bin/corral-agent.js`, what `corral-agent` runs in
// production) as a separate process, the way an operator would, and reads its memory.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { processTree, readProcStat } from '@corral/procfs';
import { HttpClient } from './http-client.ts';

const AGENT_BIN = new URL('../node_modules/@corral/agent/bin/corral-agent.js', import.meta.url)
  .pathname;

export const ISOLATION = 'cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem';
export const PRIMARY_HANDLE = '0x19';

export interface AgentOptions {
  readonly cgroupsRoot: string;
  readonly workDir: string;
  /** `--runtime_dir`; production puts it on tmpfs, so the bench does too. */
  readonly runtimeDir: string;
  /** The agent's stderr (its JSON log) is appended here. */
  readonly logFile: string;
  /** Default 0: a free port, read back from the log. */
  readonly port?: number;
  /** `--cpu-prof` into this directory. */
  readonly cpuProfDir?: string | undefined;
  /** Lets `collectGarbage` open the inspector later (on SIGUSR1; nothing listens before). */
  readonly inspectable?: boolean;
}

function agentFlags(options: AgentOptions): string[] {
  return [
    `--port=${options.port ?? 0}`,
    `--isolation=${ISOLATION}`,
    `--cgroups_net_cls_primary_handle=${PRIMARY_HANDLE}`,
    `--cgroups_root=${options.cgroupsRoot}`,
    `--work_dir=${options.workDir}`,
    `--runtime_dir=${options.runtimeDir}`,
  ];
}

/** The bench's environment minus CORRAL_*: the agent reads those as flags. */
function agentEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('CORRAL_') && name !== 'NODE_OPTIONS',
    ),
  );
}

/** Every agent started and not yet seen to exit, so a failed run can still kill them. */
const live = new Set<AgentProcess>();
/**
 * Every process seen under an agent when it was stopped (its spawner helper, inits, commands),
 * by pid, with its start time: none may outlive the run.
 */
const descendants = new Map<number, number>();

export class AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  readonly client: HttpClient;
  readonly options: AgentOptions;
  readonly exited: Promise<void>;

  private constructor(options: AgentOptions, child: ChildProcess, url: string) {
    this.options = options;
    this.child = child;
    this.pid = child.pid ?? 0;
    this.url = url;
    this.port = Number(new URL(url).port);
    this.client = new HttpClient(url);
    this.exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve()
        : once(child, 'exit').then(() => undefined);
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** SIGKILLs every agent still running (cleanup after a failure). */
  static async killAll(): Promise<void> {
    await Promise.all([...live].map((agent) => agent.stop('SIGKILL')));
  }

  /**
   * Spawns the agent and resolves once it listens (it may still be recovering: /state answers
   * 503 until it is done). `spawned` is when the process was started, for recovery timing.
   */
  static async start(
    options: AgentOptions,
  ): Promise<{ readonly agent: AgentProcess; readonly spawned: bigint }> {
    const nodeArgs: string[] = [];
    if (options.cpuProfDir !== undefined) {
      mkdirSync(options.cpuProfDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
    }
    if (options.inspectable) nodeArgs.push('--inspect-port=127.0.0.1:0');
    const logFd = openSync(options.logFile, 'a');
    const offset = logSize(options.logFile);
    const spawned = process.hrtime.bigint();
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...nodeArgs, AGENT_BIN, ...agentFlags(options)], {
        stdio: ['ignore', 'ignore', logFd],
        env: agentEnvironment(),
      });
    } finally {
      closeSync(logFd);
    }
    let url: string;
    try {
      url = await waitForUrl(child, options.logFile, offset);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return { agent: new AgentProcess(options, child, url), spawned };
  }

  /** VmRSS in KiB, from /proc/<pid>/status. */
  rssKiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match?.[1]) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]);
  }

  /** The median of `samples` RSS readings `intervalMs` apart (the GC makes single readings noisy). */
  async settledRssKiB(samples = 5, intervalMs = 200): Promise<number> {
    const readings: number[] = [];
    for (let i = 0; i < samples; i++) {
      if (i > 0) await delay(intervalMs);
      readings.push(this.rssKiB());
    }
    readings.sort((a, b) => a - b);
    return readings[Math.floor(readings.length / 2)] ?? Number.NaN;
  }

  #inspector: string | undefined;

  /**
   * Makes the agent's V8 collect all garbage (`HeapProfiler.collectGarbage` over the inspector,
   * which SIGUSR1 opens), so RSS shows what is live rather than what awaits collection.
   */
  async collectGarbage(): Promise<void> {
    if (!this.options.inspectable) throw new Error('the agent was not started inspectable');
    this.#inspector ??= await this.#openInspector();
    const socket = new WebSocket(this.#inspector);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.onerror = () => reject(new Error(`inspector ${this.#inspector} failed`));
        socket.onopen = () =>
          socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
        socket.onmessage = (event) => {
          if ((JSON.parse(String(event.data)) as { id?: number }).id === 1) resolve();
        };
      });
    } finally {
      socket.close();
    }
  }

  async #openInspector(): Promise<string> {
    const offset = logSize(this.options.logFile);
    this.child.kill('SIGUSR1');
    for (let attempt = 0; attempt < 500; attempt++) {
      const text = readFileSync(this.options.logFile).subarray(offset).toString('utf8');
      const url = /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
      if (url) return url;
      await delay(10);
    }
    throw new Error(`agent ${this.pid} opened no inspector after SIGUSR1`);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Descendants of stopped agents that still run (the same pid and start time). */
  static survivors(): string[] {
    const alive: string[] = [];
    for (const [pid, startTime] of descendants) {
      const stat = readProcStat(pid);
      if (stat && stat.startTime === startTime && stat.state !== 'Z') {
        alive.push(`${pid} (an agent's descendant, state ${stat.state}, parent ${stat.ppid})`);
      }
    }
    return alive;
  }

  /** Sends `signal` and waits for the process to exit. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    this.client.close();
    if (!this.running) return;
    for (const member of processTree(this.pid)) {
      if (member.pid !== this.pid) descendants.set(member.pid, member.startTime);
    }
    this.child.kill(signal);
    await this.exited;
  }
}

function logSize(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** Polls the log for the "listening" line (`"url":"http://…"`) written after `offset`. */
async function waitForUrl(child: ChildProcess, logFile: string, offset: number): Promise<string> {
  const deadline = Date.now() + 30_000;
  const buffer = Buffer.alloc(64 * 1024);
  let position = offset;
  let text = '';
  const fd = openSync(logFile, 'r');
  try {
    for (;;) {
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, position);
        if (read === 0) break;
        position += read;
        text += buffer.toString('utf8', 0, read);
      }
      const match = /"url":"([^"]+)"/.exec(text);
      if (match?.[1]) return match[1];
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `corral-agent exited (${child.exitCode ?? child.signalCode}) before listening:\n${text}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`corral-agent did not log its URL within 30 s:\n${text}`);
      }
      await delay(2);
    }
  } finally {
    closeSync(fd);
  }
}

/** The agent's work and runtime directories for one scenario, under the run's temp dirs. */
export function agentDirs(
  diskDir: string,
  tmpfsDir: string,
  name: string,
): Pick<AgentOptions, 'workDir' | 'runtimeDir' | 'logFile'> {
  return {
    workDir: join(diskDir, name, 'work'),
    runtimeDir: join(tmpfsDir, name, 'run'),
    logFile: join(diskDir, `${name}-agent.log`),
  };
}
