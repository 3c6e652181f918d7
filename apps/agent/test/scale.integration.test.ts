import { existsSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import {
  isolatedAgentFlags,
  type RunningAgent,
  recoveredState,
  runningTasks,
  startAgent,
} from './agent-process.ts';

const CONTAINERS = 300;
/** Generous for a shared CI machine; `pnpm bench` carries the real figures. */
const HEALTH_BOUND_MS = 250;

const dir = mkdtempSync(join(tmpdir(), 'corral-agent-scale-'));
const cgroupsRoot = `corral-test-scale-${process.pid}`;
let agent: RunningAgent | undefined;

afterEach(async () => {
  // SIGKILL destroys a container: every process and its cgroups go before WAIT answers.
  if (agent) {
    const state = await recoveredState(agent);
    for (const task of runningTasks(state)) {
      const id = { container_id: { value: task.id } };
      await agent.call({ type: 'KILL_CONTAINER', kill_container: id });
      await agent.call({ type: 'WAIT_CONTAINER', wait_container: id });
    }
    await agent.stop('SIGTERM');
  }
  agent = undefined;
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of [findCgroup2Mount(), findV1Hierarchy('net_cls')]) {
    const root = hierarchy && join(hierarchy, cgroupsRoot);
    if (root && existsSync(root)) rmdirSync(root);
  }
});

/** Runs `task` `count` times, `concurrency` at once. */
async function pool(count: number, concurrency: number, task: (index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describeOnKernel('an agent holding hundreds of containers', { root: true, cgroup2: true }, () => {
  it('answers /health promptly while /containers is asked back to back', async () => {
    agent = await startAgent(isolatedAgentFlags(dir, cgroupsRoot));
    const running = agent;
    await recoveredState(running);
    await pool(CONTAINERS, 8, async (index) => {
      const response = await running.call({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: `scale-${index}` },
          command: { value: 'exec sleep 300' },
        },
      });
      expect(response.status).toBe(200);
    });

    let listing = true;
    const lists = (async () => {
      type Listing = { statistics?: { processes?: number } }[];
      const bodies: Listing[] = [];
      for (let round = 0; round < 10; round++) {
        const response = await running.get('/containers');
        expect(response.status).toBe(200);
        bodies.push((await response.json()) as Listing);
      }
      listing = false;
      return bodies;
    })();
    const health: number[] = [];
    while (listing) {
      const started = performance.now();
      expect((await running.get('/health')).status).toBe(200);
      health.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const bodies = await lists;

    for (const body of bodies) {
      expect(body).toHaveLength(CONTAINERS);
      // Every container's init and its command.
      expect(body.every((entry) => entry.statistics?.processes === 2)).toBe(true);
    }
    expect(health.length).toBeGreaterThan(10);
    expect(Math.max(...health)).toBeLessThan(HEALTH_BOUND_MS);
  });
});
