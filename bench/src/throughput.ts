// Scenario 2: launch+destroy throughput over the API. One cycle is LAUNCH_CONTAINER of a sleeping
// command, then KILL_CONTAINER + WAIT_CONTAINER + REMOVE_CONTAINER; `concurrency` clients run
// cycles back to back. The concurrencies take turns in rounds, so noise hits them alike.
import { type LatencySummary, summarize } from '@corral/test-support/bench';
import type { AgentProcess } from './agent-process.ts';
import type { Workspace } from './setup.ts';

export interface ThroughputPoint {
  readonly concurrency: number;
  readonly cycles: number;
  readonly seconds: number;
  /** Launch+destroy cycles per second over every round. */
  readonly perSecond: number;
  /** Each round's rate, to show the spread. */
  readonly roundsPerSecond: readonly number[];
  /** One cycle's duration as its client saw it, in ms. */
  readonly cycle: LatencySummary;
  /** Each call of the cycle, in ms. */
  readonly calls: Readonly<Record<CycleCall, LatencySummary>>;
}

export interface ThroughputResult {
  readonly rounds: number;
  readonly points: readonly ThroughputPoint[];
}

const ROUNDS = 5;

/** The sleeping command every scale and throughput container runs. */
export function sleepingCommand(workspace: Workspace) {
  return { shell: false, value: workspace.command, arguments: [workspace.command, 'pause'] };
}

export const CYCLE_CALLS = [
  'LAUNCH_CONTAINER',
  'KILL_CONTAINER',
  'WAIT_CONTAINER',
  'REMOVE_CONTAINER',
] as const;
export type CycleCall = (typeof CYCLE_CALLS)[number];
/** Each call's duration in ms, when the caller wants the breakdown of a cycle. */
type CallTimes = Record<CycleCall, number[]>;

async function call(
  agent: AgentProcess,
  type: CycleCall,
  body: Record<string, unknown>,
  times: CallTimes | undefined,
): Promise<void> {
  const started = performance.now();
  await agent.client.expect({ type, ...body });
  times?.[type].push(performance.now() - started);
}

/** LAUNCH, KILL (SIGKILL), WAIT, REMOVE of one container; throws unless each answers 200. */
export async function launchAndDestroy(
  agent: AgentProcess,
  workspace: Workspace,
  id: string,
  times?: CallTimes,
): Promise<void> {
  const container_id = { value: id };
  const launch_container = { container_id, command: sleepingCommand(workspace) };
  await call(agent, 'LAUNCH_CONTAINER', { launch_container }, times);
  await destroy(agent, id, times);
}

/** KILL + WAIT + REMOVE of a running container. */
export async function destroy(agent: AgentProcess, id: string, times?: CallTimes): Promise<void> {
  const container_id = { value: id };
  await call(agent, 'KILL_CONTAINER', { kill_container: { container_id, signal: 9 } }, times);
  await call(agent, 'WAIT_CONTAINER', { wait_container: { container_id } }, times);
  await call(agent, 'REMOVE_CONTAINER', { remove_container: { container_id } }, times);
}

/** Runs `total` jobs on `concurrency` workers; resolves with the wall time in seconds. */
export async function pool(
  total: number,
  concurrency: number,
  job: (index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async () => {
      while (next < total) await job(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

export async function runThroughput(
  workspace: Workspace,
  agent: AgentProcess,
  cyclesPerConcurrency: number,
  concurrencies: readonly number[],
): Promise<ThroughputResult> {
  let serial = 0;
  const job = (times?: CallTimes) =>
    launchAndDestroy(agent, workspace, `throughput-${serial++}`, times);
  await pool(Math.max(...concurrencies) * 2, 8, () => job());

  const rounds = Math.min(ROUNDS, cyclesPerConcurrency);
  const seconds = new Map<number, number[]>(concurrencies.map((c) => [c, []]));
  const cycleMs = new Map<number, number[]>(concurrencies.map((c) => [c, []]));
  const done = new Map<number, number>(concurrencies.map((c) => [c, 0]));
  const callTimes = new Map<number, CallTimes>(
    concurrencies.map((c) => [
      c,
      Object.fromEntries(CYCLE_CALLS.map((name) => [name, [] as number[]])) as CallTimes,
    ]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const concurrency of concurrencies) {
      // Spread the cycles over the rounds; the last takes the remainder.
      const cycles =
        round === rounds - 1
          ? cyclesPerConcurrency - (done.get(concurrency) ?? 0)
          : Math.floor(cyclesPerConcurrency / rounds);
      const durations = cycleMs.get(concurrency) ?? [];
      const elapsed = await pool(cycles, concurrency, async () => {
        const started = performance.now();
        await job(callTimes.get(concurrency));
        durations.push(performance.now() - started);
      });
      seconds.get(concurrency)?.push(elapsed);
      done.set(concurrency, (done.get(concurrency) ?? 0) + cycles);
    }
  }
  const points = concurrencies.map((concurrency): ThroughputPoint => {
    const perRound = seconds.get(concurrency) ?? [];
    const total = perRound.reduce((sum, value) => sum + value, 0);
    const cycles = done.get(concurrency) ?? 0;
    const share = (round: number) =>
      round === rounds - 1
        ? cyclesPerConcurrency - Math.floor(cyclesPerConcurrency / rounds) * (rounds - 1)
        : Math.floor(cyclesPerConcurrency / rounds);
    return {
      concurrency,
      cycles,
      seconds: total,
      perSecond: cycles / total,
      roundsPerSecond: perRound.map((value, round) => share(round) / value),
      cycle: summarize(cycleMs.get(concurrency) ?? []),
      calls: Object.fromEntries(
        CYCLE_CALLS.map((name) => [name, summarize(callTimes.get(concurrency)?.[name] ?? [])]),
      ) as Record<CycleCall, LatencySummary>,
    };
  });
  return { rounds, points };
}
