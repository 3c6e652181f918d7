// Scenario 4: an agent holding `count` running (sleeping) containers. The latency of the read
// endpoints, /health while /containers runs back to back, the agent's RSS idle and per container
// (as it is, and after a forced GC), what the kernel charges for the reads usage needs, and the
// time to recover every container after SIGKILL + restart until /state answers 200. Every
// container is destroyed afterwards. Scenario 6 (the curve) runs it at several sizes.
import { mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findCgroup2Mount } from '@corral/cgroupfs';
import { readProcessTable } from '@corral/procfs';
import { interleave, type LatencySummary, summarize } from '@corral/test-support/bench';
import { type AgentOptions, AgentProcess } from './agent-process.ts';
import { HttpClient } from './http-client.ts';
import type { Workspace } from './setup.ts';
import { elapsedMs } from './stamp-fifo.ts';
import { destroy, launchAndDestroy, pool, sleepingCommand } from './throughput.ts';

export const ENDPOINTS = [
  '/state',
  'GET_STATE',
  '/containers',
  'GET_CONTAINERS',
  '/metrics',
  '/metrics/snapshot',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export interface EndpointResult extends LatencySummary {
  /** Size of the response body. */
  readonly bytes: number;
}

export interface ScaleResult {
  readonly containers: number;
  /** Launching them all, 8 at a time. */
  readonly fill: { readonly seconds: number; readonly perSecond: number };
  readonly rss: {
    /** After start-up and 50 warm-up launch+destroy cycles, nothing running. */
    readonly idleKiB: number;
    readonly loadedKiB: number;
    readonly perContainerKiB: number;
    /** The last restarted agent, once it recovered every container. */
    readonly afterRecoveryKiB: number;
    /** The same idle and loaded readings right after a forced full GC. */
    readonly idleGcKiB: number;
    readonly loadedGcKiB: number;
    readonly perContainerGcKiB: number;
  };
  /** `/health` polled on its own connection while `/containers` is asked back to back. */
  readonly healthUnderLoad: {
    readonly health: LatencySummary & { readonly max: number };
    readonly containers: LatencySummary;
  };
  /** What the kernel charges the bench itself, outside the agent, for the reads usage needs. */
  readonly kernel: {
    /** Processes on the machine, and one read of every /proc/<pid>/stat (median of 3). */
    readonly processes: number;
    readonly procScanMs: number;
    /** `cgroup.procs` + `cpu.stat` of every container's tracking cgroup (median of 3). */
    readonly cgroups: number;
    readonly cgroupReadsMs: number;
    /** mkdir + rmdir of a cgroup v2 beside the containers' cgroups (median of 20). */
    readonly cgroupMkdirMs: number;
    /** The C floor launch (IPC ns + net_cls cgroup, timed in C), median of 30; when given. */
    readonly launchFloorMs?: number;
  };
  readonly rounds: number;
  readonly endpoints: Readonly<Record<Endpoint, EndpointResult>>;
  readonly recovery: {
    /** Restart spawned -> first 200 from /state, in ms, per repetition. */
    readonly runsMs: readonly number[];
    readonly summary: LatencySummary;
    /** The agent's own `recovery done` seconds (containerizer recover + reconcile). */
    readonly agentSeconds: readonly number[];
    /** How many containers that log line lists as recovered, per repetition. */
    readonly recovered: readonly number[];
  };
  /** KILL + WAIT + REMOVE of every container, 16 at a time. */
  readonly teardown: { readonly seconds: number; readonly perSecond: number };
}

const FILL_CONCURRENCY = 8;
const TEARDOWN_CONCURRENCY = 16;
const WARMUP_CYCLES = 50;
const POLL_MS = 10;
/** `/containers` requests while `/health` is polled. */
const LOADED_LISTINGS = 10;
const HEALTH_GAP_MS = 5;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function timedMs(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return elapsedMs(started, process.hrtime.bigint());
}

/**
 * The kernel's price, with the containers running, of what usage reads (the whole process table,
 * each container's cgroup) and of what a launch does (a cgroup mkdir).
 */
function kernelCosts(cgroupsRoot: string): ScaleResult['kernel'] {
  let processes = 0;
  const procScanMs = median(
    [0, 1, 2].map(() =>
      timedMs(() => {
        processes = readProcessTable().byPid.size;
      }),
    ),
  );
  const root = join(findCgroup2Mount() ?? '', cgroupsRoot);
  const cgroups = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, entry.name));
  const cgroupReadsMs = median(
    [0, 1, 2].map(() =>
      timedMs(() => {
        for (const cgroup of cgroups) {
          readFileSync(join(cgroup, 'cgroup.procs'));
          readFileSync(join(cgroup, 'cpu.stat'));
        }
      }),
    ),
  );
  const probe = join(root, 'corral-bench-probe');
  const cgroupMkdirMs = median(
    Array.from({ length: 20 }, () =>
      timedMs(() => {
        mkdirSync(probe);
        rmdirSync(probe);
      }),
    ),
  );
  return { processes, procScanMs, cgroups: cgroups.length, cgroupReadsMs, cgroupMkdirMs };
}

/** `/containers` back to back on the agent's client; `/health` on a second connection meanwhile. */
async function healthWhileListing(agent: AgentProcess): Promise<ScaleResult['healthUnderLoad']> {
  const probe = new HttpClient(agent.url);
  const healthMs: number[] = [];
  const containersMs: number[] = [];
  let listing = true;
  const listings = (async () => {
    try {
      for (let round = 0; round < LOADED_LISTINGS; round++) {
        const started = process.hrtime.bigint();
        const response = await agent.client.get('/containers');
        if (response.status !== 200) throw new Error(`/containers answered ${response.status}`);
        containersMs.push(elapsedMs(started, process.hrtime.bigint()));
      }
    } finally {
      listing = false;
    }
  })();
  try {
    while (listing) {
      const started = process.hrtime.bigint();
      const response = await probe.get('/health');
      if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
      healthMs.push(elapsedMs(started, process.hrtime.bigint()));
      await delay(HEALTH_GAP_MS);
    }
  } finally {
    await listings;
    probe.close();
  }
  return {
    health: { ...summarize(healthMs), max: Math.max(...healthMs) },
    containers: summarize(containersMs),
  };
}

async function sequence(times: number, run: () => Promise<number>): Promise<number[]> {
  const results: number[] = [];
  for (let index = 0; index < times; index++) results.push(await run());
  return results;
}

/** RSS after a forced full GC (twice: the first may leave finalizable objects). */
async function collectedRssKiB(agent: AgentProcess): Promise<number> {
  await agent.collectGarbage();
  await agent.collectGarbage();
  return agent.settledRssKiB();
}

interface StateJson {
  readonly frameworks?: readonly {
    readonly executors?: readonly { readonly tasks?: readonly { readonly state?: string }[] }[];
  }[];
}

function runningTasks(body: string): number {
  const state = JSON.parse(body) as StateJson;
  let running = 0;
  for (const framework of state.frameworks ?? []) {
    for (const executor of framework.executors ?? []) {
      for (const task of executor.tasks ?? []) if (task.state === 'TASK_RUNNING') running++;
    }
  }
  return running;
}

async function expectRunning(agent: AgentProcess, count: number): Promise<void> {
  const response = await agent.client.get('/state');
  const running = response.status === 200 ? runningTasks(response.body) : -1;
  if (running !== count) {
    throw new Error(
      `/state answered ${response.status} with ${running} running tasks, expected ${count}`,
    );
  }
}

interface RecoveryLine {
  readonly seconds?: unknown;
  readonly recovered?: unknown;
}

/** Polls the log for the `recovery done` line written after `offset`. */
async function recoveryLine(logFile: string, offset: number): Promise<RecoveryLine> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = readFileSync(logFile).subarray(offset).toString('utf8');
    const last = text
      .split('\n')
      .filter((line) => line.includes('"recovery done"'))
      .at(-1);
    if (last !== undefined) return JSON.parse(last) as RecoveryLine;
    await delay(10);
  }
  return {};
}

/** SIGKILLs `agent`, restarts it on the same port, and times spawn -> /state 200. */
async function killAndRecover(
  agent: AgentProcess,
  count: number,
): Promise<{
  agent: AgentProcess;
  ms: number;
  agentSeconds: number | undefined;
  recovered: number;
}> {
  await agent.stop('SIGKILL');
  const logOffset = readFileSync(agent.options.logFile).length;
  const { agent: restarted, spawned } = await AgentProcess.start({
    ...agent.options,
    port: agent.port,
  });
  for (;;) {
    const response = await restarted.client.get('/state').catch(() => undefined);
    if (response?.status === 200) break;
    if (!restarted.running) throw new Error('the restarted agent exited while recovering');
    await delay(POLL_MS);
  }
  const ms = elapsedMs(spawned, process.hrtime.bigint());
  await expectRunning(restarted, count);
  const line = await recoveryLine(agent.options.logFile, logOffset);
  return {
    agent: restarted,
    ms,
    agentSeconds: typeof line.seconds === 'number' ? line.seconds : undefined,
    recovered: Array.isArray(line.recovered) ? line.recovered.length : 0,
  };
}

export async function runScale(
  workspace: Workspace,
  options: AgentOptions,
  count: number,
  rounds: number,
  recoveries: number,
  /** Times one launch of the C floor, to see what the kernel charges a launch at this size. */
  launchFloor?: () => Promise<number>,
): Promise<ScaleResult> {
  let { agent } = await AgentProcess.start({ ...options, inspectable: true });
  try {
    let warm = 0;
    await pool(WARMUP_CYCLES, 8, () => launchAndDestroy(agent, workspace, `warmup-${warm++}`));
    await delay(2000);
    const idleKiB = await agent.settledRssKiB();
    const idleGcKiB = await collectedRssKiB(agent);

    const ids = Array.from({ length: count }, (_, index) => `scale-${index}`);
    const fillSeconds = await pool(count, FILL_CONCURRENCY, async (index) => {
      await agent.client.expect({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: ids[index] },
          command: sleepingCommand(workspace),
        },
      });
    });
    await expectRunning(agent, count);
    await delay(2000);
    const loadedKiB = await agent.settledRssKiB();
    const loadedGcKiB = await collectedRssKiB(agent);
    const kernel = {
      ...kernelCosts(options.cgroupsRoot),
      ...(launchFloor ? { launchFloorMs: median(await sequence(30, launchFloor)) } : {}),
    };

    const bytes: Partial<Record<Endpoint, number>> = {};
    const request =
      (endpoint: Endpoint, send: () => Promise<{ status: number; body: string }>) =>
      async (): Promise<number> => {
        const started = process.hrtime.bigint();
        const response = await send();
        const ms = elapsedMs(started, process.hrtime.bigint());
        if (response.status !== 200) throw new Error(`${endpoint} answered ${response.status}`);
        bytes[endpoint] = Buffer.byteLength(response.body);
        return ms;
      };
    const client = () => agent.client;
    const sends: Record<Endpoint, () => Promise<{ status: number; body: string }>> = {
      '/state': () => client().get('/state'),
      GET_STATE: () => client().call({ type: 'GET_STATE' }),
      '/containers': () => client().get('/containers'),
      GET_CONTAINERS: () => client().call({ type: 'GET_CONTAINERS' }),
      '/metrics': () => client().get('/metrics'),
      '/metrics/snapshot': () => client().get('/metrics/snapshot'),
    };
    const latencies = await interleave(
      Object.fromEntries(
        ENDPOINTS.map((endpoint) => [endpoint, request(endpoint, sends[endpoint])]),
      ),
      rounds,
      Math.min(5, rounds),
    );
    const endpoints = Object.fromEntries(
      ENDPOINTS.map((endpoint) => [
        endpoint,
        { ...(latencies[endpoint] as LatencySummary), bytes: bytes[endpoint] ?? 0 },
      ]),
    ) as Record<Endpoint, EndpointResult>;
    const healthUnderLoad = await healthWhileListing(agent);

    const runsMs: number[] = [];
    const agentSeconds: number[] = [];
    const recoveredCounts: number[] = [];
    for (let run = 0; run < recoveries; run++) {
      const recovered = await killAndRecover(agent, count);
      agent = recovered.agent;
      runsMs.push(recovered.ms);
      if (recovered.agentSeconds !== undefined) agentSeconds.push(recovered.agentSeconds);
      recoveredCounts.push(recovered.recovered);
    }
    await delay(2000);
    const afterRecoveryKiB = await agent.settledRssKiB();

    const teardownSeconds = await pool(count, TEARDOWN_CONCURRENCY, async (index) => {
      await destroy(agent, ids[index] ?? '');
    });
    await expectRunning(agent, 0);

    return {
      containers: count,
      fill: { seconds: fillSeconds, perSecond: count / fillSeconds },
      rss: {
        idleKiB,
        loadedKiB,
        perContainerKiB: (loadedKiB - idleKiB) / count,
        afterRecoveryKiB,
        idleGcKiB,
        loadedGcKiB,
        perContainerGcKiB: (loadedGcKiB - idleGcKiB) / count,
      },
      healthUnderLoad,
      kernel,
      rounds,
      endpoints,
      recovery: { runsMs, summary: summarize(runsMs), agentSeconds, recovered: recoveredCounts },
      teardown: { seconds: teardownSeconds, perSecond: count / teardownSeconds },
    };
  } finally {
    await agent.stop('SIGTERM');
  }
}
