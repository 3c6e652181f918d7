import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { recoveredState, runningTasks } from '../agent-process.ts';
import { launchCall, Scenario, stopContainer } from './harness.ts';

let scenario: Scenario;
beforeEach(() => {
  scenario = new Scenario();
});
afterEach(async () => {
  await scenario.cleanup();
});

/** Sends a call to an agent that may die while answering it. */
async function attempt(call: () => Promise<Response>): Promise<number | 'agent died'> {
  try {
    return (await call()).status;
  } catch {
    return 'agent died';
  }
}

describeOnKernel(
  'crash of the agent at every step',
  { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'] },
  () => {
    it.each(['prepared', 'forked', 'isolated'])(
      'SIGKILL at launch step %s: after restart nothing of the container is left',
      async (step) => {
        const crashing = await scenario.start({ CORRAL_TEST_CRASH_AT: step });
        expect(await attempt(() => crashing.call(launchCall('victim')))).toBe('agent died');
        expect(await crashing.stop('SIGKILL')).toBe(null);

        const agent = await scenario.start();
        await expect.poll(async () => scenario.invariants(agent), { timeout: 10_000 }).toEqual([]);
        expect(runningTasks(await recoveredState(agent))).toEqual([]);
        // The interrupted launch ended with a termination the caller can read; removing it frees
        // the id for a new launch.
        const id = { container_id: { value: 'victim' } };
        const waited = await agent.call({ type: 'WAIT_CONTAINER', wait_container: id });
        const termination = (await waited.json()) as { wait_container: { state?: string } };
        expect(termination.wait_container.state).toMatch(/^TASK_(FAILED|LOST|KILLED)$/);
        expect((await agent.call({ type: 'REMOVE_CONTAINER', remove_container: id })).status).toBe(
          200,
        );
        expect((await agent.call(launchCall('victim'))).status).toBe(200);
        expect(await scenario.invariants(agent)).toEqual([]);
      },
    );

    it('SIGKILL right after the sync pipe is released: the container is recovered running', async () => {
      const crashing = await scenario.start({ CORRAL_TEST_CRASH_AT: 'released' });
      expect(await attempt(() => crashing.call(launchCall('started')))).toBe('agent died');

      const agent = await scenario.start();
      const tasks = runningTasks(await recoveredState(agent));
      expect(tasks.map((task) => task.id)).toEqual(['started']);
      expect(
        tasks[0]?.statuses.at(-1)?.container_status?.cgroup_info?.net_cls?.classid,
      ).toBeGreaterThan(0x190000);
      expect(await scenario.invariants(agent)).toEqual([]);
    });

    it.each(['killed', 'cleaning:namespaces/ipc', 'cleaning:cgroups/net_cls'])(
      'SIGKILL at destroy step %s: after restart the container is terminated and nothing is left',
      async (step) => {
        const crashing = await scenario.start({ CORRAL_TEST_CRASH_AT: step });
        expect((await crashing.call(launchCall('doomed'))).status).toBe(200);
        expect((await crashing.call(launchCall('bystander'))).status).toBe(200);
        const kill = {
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: 'doomed' } },
        };
        await attempt(() => crashing.call(kill));
        await expect
          .poll(() => crashing.child.exitCode !== null || crashing.child.signalCode !== null)
          .toBe(true);

        const agent = await scenario.start();
        await expect
          .poll(async () => runningTasks(await recoveredState(agent)).map((task) => task.id))
          .toEqual(['bystander']);
        const waited = await agent.call({
          type: 'WAIT_CONTAINER',
          wait_container: { container_id: { value: 'doomed' } },
        });
        expect(
          ((await waited.json()) as { wait_container: { exit_status?: number } }).wait_container
            .exit_status,
        ).toBe(9);
        expect(await scenario.invariants(agent)).toEqual([]);
        await stopContainer(agent, 'bystander');
        expect(await scenario.invariants(agent)).toEqual([]);
      },
    );
  },
);

describeOnKernel(
  'crash of the container',
  { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'] },
  () => {
    it('SIGKILL of the init or of the command is reported with its status and cleaned up', async () => {
      const agent = await scenario.start();
      for (const id of ['init-killed', 'command-killed'])
        expect((await agent.call(launchCall(id))).status).toBe(200);
      const containers = (await (await agent.get('/containers')).json()) as {
        container_id: string;
        status: { executor_pid: number };
      }[];
      const pidOf = (id: string) =>
        containers.find((c) => c.container_id === id)?.status.executor_pid ?? 0;

      process.kill(pidOf('init-killed'), 'SIGKILL');
      // The command is the init's only child (exec sleep): /proc/<init>/task/<init>/children.
      const { readFileSync } = await import('node:fs');
      const commandPid = Number(
        readFileSync(
          `/proc/${pidOf('command-killed')}/task/${pidOf('command-killed')}/children`,
          'utf8',
        ).trim(),
      );
      process.kill(commandPid, 'SIGKILL');

      for (const id of ['init-killed', 'command-killed']) {
        const waited = await agent.call({
          type: 'WAIT_CONTAINER',
          wait_container: { container_id: { value: id } },
        });
        expect(((await waited.json()) as { wait_container: unknown }).wait_container).toMatchObject(
          {
            exit_status: 9,
            state: 'TASK_FAILED',
          },
        );
      }
      expect(await scenario.invariants(agent)).toEqual([]);
    });
  },
);
