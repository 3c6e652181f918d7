import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { summarize } from '@corral/test-support/bench';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { recoveredState, runningTasks } from '../agent-process.ts';
import { launchCall, Scenario, stopContainer } from './harness.ts';

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

const BURSTS = 5;
const BURST_SIZE = 100;

/**
 * Polls /health every 10 ms from a separate process (as a monitor would) while `work` runs, so
 * the latencies are the agent's and not this test's own event loop, busy with the bursts.
 */
async function healthWhile(url: string, work: () => Promise<unknown>): Promise<number[]> {
  const probe = spawn(
    process.execPath,
    [
      '-e',
      `const out = [];
       const tick = async () => { const t = performance.now(); await fetch(${JSON.stringify(`${url}/health`)}); out.push(performance.now() - t); };
       const loop = async () => { while (!process.stdin.readableEnded) { await tick(); await new Promise((r) => setTimeout(r, 10)); } };
       process.stdin.on('end', () => {}); process.stdin.resume();
       // One request first (loads fetch, opens the connection), then say ready.
       tick().then(() => { out.length = 0; process.stdout.write('ready\\n'); return loop(); })
         .then(() => process.stdout.write(JSON.stringify(out)));`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let output = '';
  probe.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise<void>((resolve) => {
    const ready = () => {
      if (!output.startsWith('ready\n')) return;
      probe.stdout.off('data', ready);
      output = output.slice('ready\n'.length);
      resolve();
    };
    probe.stdout.on('data', ready);
  });
  await work();
  probe.stdin.end();
  await once(probe, 'exit');
  return JSON.parse(output) as number[];
}

describeOnKernel('load', { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'] }, () => {
  it(`${BURSTS * BURST_SIZE} launches in bursts: none lost, classids distinct, /health stays fast`, async () => {
    scenario = new Scenario();
    const agent = await scenario.start();
    const statuses: number[] = [];
    const bursts = async () => {
      for (let burst = 0; burst < BURSTS; burst++) {
        const responses = await Promise.all(
          Array.from({ length: BURST_SIZE }, (_, index) =>
            agent.call(launchCall(`load-${burst}-${index}`)),
          ),
        );
        statuses.push(...responses.map((response) => response.status));
      }
    };
    const health = summarize(await healthWhile(agent.url, bursts));
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    const tasks = runningTasks(await recoveredState(agent));
    expect(tasks).toHaveLength(BURSTS * BURST_SIZE);
    expect(await scenario.invariants(agent)).toEqual([]);
    console.log(
      `load: ${statuses.length} launches, /health p50 ${health.p50.toFixed(1)} ms, p99 ${health.p99.toFixed(1)} ms over ${health.runs} probes`,
    );
    // Launch work that blocked the event loop even 1.5 ms per launch would hold /health up for
    // 150 ms a burst; CI has measured a p99 of 13 ms, and 68 ms on a machine loaded beyond it.
    expect(health.p99).toBeLessThan(150);
    await Promise.all(tasks.map((task) => stopContainer(agent, task.id)));
    expect(await scenario.invariants(agent)).toEqual([]);
  });

  it('with 100 secondary handles, exactly 100 of 150 concurrent launches succeed and nothing leaks', async () => {
    scenario = new Scenario(['--cgroups_net_cls_secondary_handles=1,100']);
    const agent = await scenario.start();
    const responses = await Promise.all(
      Array.from({ length: 150 }, (_, index) => agent.call(launchCall(`scarce-${index}`))),
    );
    const ok = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status !== 200);
    expect(ok).toHaveLength(100);
    expect(refused.map((response) => response.status)).toEqual(Array(50).fill(400));
    for (const response of refused) expect(await response.text()).toMatch(/handle|exhausted/i);
    expect(await scenario.invariants(agent)).toEqual([]);
    await Promise.all(
      runningTasks(await recoveredState(agent)).map((task) => stopContainer(agent, task.id)),
    );
    expect(await scenario.invariants(agent)).toEqual([]);
  });
});
