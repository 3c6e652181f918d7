// Scenario 1 (with scenario 3's references interleaved): LAUNCH_CONTAINER request sent -> the
// command's first instruction, beside the same command launched by each reference, round-robin.
import { interleave, type LatencySummary, summarize } from '@corral/test-support/bench';
import type { AgentProcess } from './agent-process.ts';
import { prepareReferences, type ReferenceName } from './references.ts';
import type { Workspace } from './setup.ts';
import { elapsedMs, type StampFifo, settleBoth } from './stamp-fifo.ts';

export interface LatencyResult {
  readonly runs: number;
  readonly warmup: number;
  /** `api` and every reference that ran, in ms. */
  readonly cases: Partial<Record<'api' | ReferenceName, LatencySummary>>;
  /** LAUNCH_CONTAINER sent -> its 200 received (the agent answers once the status is recorded). */
  readonly apiResponse: LatencySummary;
  /** A GET_HEALTH call's round trip on the same connection: the HTTP floor under every call. */
  readonly apiRoundTrip: LatencySummary;
  readonly skipped: Partial<Record<ReferenceName, string>>;
  readonly notes: readonly string[];
}

/** The launch call, prepared outside the timed section: `command <fifo>`, no shell. */
function launchCall(id: string, workspace: Workspace): string {
  return JSON.stringify({
    type: 'LAUNCH_CONTAINER',
    launch_container: {
      container_id: { value: id },
      command: {
        shell: false,
        value: workspace.command,
        arguments: [workspace.command, workspace.fifoPath],
      },
    },
  });
}

/** WAIT_CONTAINER then REMOVE_CONTAINER: untimed, between launches. */
async function reap(agent: AgentProcess, id: string): Promise<void> {
  const containerId = { value: id };
  await agent.client.expect({
    type: 'WAIT_CONTAINER',
    wait_container: { container_id: containerId },
  });
  await agent.client.expect({
    type: 'REMOVE_CONTAINER',
    remove_container: { container_id: containerId },
  });
}

export async function runLaunchLatency(
  workspace: Workspace,
  agent: AgentProcess,
  fifo: StampFifo,
  crun: { readonly path?: string; readonly skipped?: string },
  runs: number,
): Promise<LatencyResult> {
  const references = await prepareReferences(workspace, fifo, crun);
  const warmup = Math.min(20, Math.ceil(runs / 10));
  const responses: number[] = [];
  const roundTrips: number[] = [];
  const health = JSON.stringify({ type: 'GET_HEALTH' });
  let next = 0;
  const api = async (): Promise<number> => {
    const id = `latency-${next++}`;
    const body = launchCall(id, workspace);
    fifo.assertEmpty();
    const started = process.hrtime.bigint();
    const response = agent.client.call(body).then((answer) => {
      if (answer.status !== 200) {
        throw new Error(`LAUNCH_CONTAINER answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      }
      return process.hrtime.bigint();
    });
    const [ran, answered] = await settleBoth(fifo.next(), response);
    responses.push(elapsedMs(started, answered));
    await reap(agent, id);
    const asked = process.hrtime.bigint();
    await agent.client.expect(health);
    roundTrips.push(elapsedMs(asked, process.hrtime.bigint()));
    return elapsedMs(started, ran);
  };
  try {
    const summaries = await interleave({ api, ...references.cases }, runs, warmup);
    return {
      runs,
      warmup,
      cases: summaries,
      apiResponse: summarize(responses.slice(warmup)),
      apiRoundTrip: summarize(roundTrips.slice(warmup)),
      skipped: references.skipped,
      notes: references.notes,
    };
  } finally {
    await references.close();
  }
}
