import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cgroupExists,
  destroyCgroup,
  findCgroup2Mount,
  findV1Hierarchy,
  listChildCgroups,
} from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type RunningAgent,
  recoveredState,
  type StateJson,
  startAgent,
  type WaitJson,
} from './agent-process.ts';

let dir: string;
let agent: RunningAgent;
const cgroupsRoot = `corral-test-${process.pid}-limits`;
const hierarchies = () =>
  [
    findCgroup2Mount(),
    ...['freezer', 'cpu', 'cpuacct', 'memory', 'pids'].map((s) => findV1Hierarchy(s)),
  ].filter((h): h is string => h !== undefined);
const leftovers = () =>
  hierarchies().flatMap((h) =>
    cgroupExists(h, cgroupsRoot) ? listChildCgroups(h, cgroupsRoot) : [],
  );

const scalar = (name: string, value: number) => ({ name, type: 'SCALAR', scalar: { value } });
const launch = (value: string, command: string, fields: Record<string, unknown> = {}) =>
  agent.call({
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: { value }, command: { value: command }, ...fields },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-limits-'));
  agent = await startAgent([
    `--work_dir=${join(dir, 'work')}`,
    `--runtime_dir=${join(dir, 'run')}`,
    `--cgroups_root=${cgroupsRoot}`,
    '--launcher=linux',
    '--isolation=cgroups/cpu,cgroups/mem,cgroups/pids',
  ]);
  await recoveredState(agent);
});

afterAll(async () => {
  await agent?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of hierarchies()) {
    await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
});

describeOnKernel(
  'resource limits through the agent',
  { root: true, cgroupSubsystems: ['cpu', 'cpuacct', 'memory', 'pids'], commands: ['perl'] },
  () => {
    it('fails an OOM-killed container with REASON_CONTAINER_LIMITATION_MEMORY in WAIT_CONTAINER and /state', async () => {
      const response = await launch('hog', `exec perl -e '$x = "a" x (200 * 1024 * 1024)'`, {
        resources: [scalar('mem', 32)],
        limits: { mem: { value: 64 } },
      });
      expect(response.status, await response.text()).toBe(200);
      const waited = (await (
        await agent.call({
          type: 'WAIT_CONTAINER',
          wait_container: { container_id: { value: 'hog' } },
        })
      ).json()) as WaitJson & { wait_container: { reason?: string } };
      expect(waited.wait_container).toMatchObject({
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      });
      const state = (await (await agent.get('/state')).json()) as StateJson;
      const task = state.frameworks
        .flatMap((framework) => framework.completed_executors)
        .flatMap((executor) => executor.completed_tasks)
        .find((candidate) => candidate.id === 'hog');
      expect(task?.state).toBe('TASK_FAILED');
      expect(task?.statuses.at(-1)).toMatchObject({
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
        message: expect.stringMatching(/^Memory limit exceeded: .*limit 64 MB, peak usage/),
      });
      expect(leftovers()).toEqual([]);
    });

    it('shows the cgroup statistics in /containers and GET_CONTAINERS', async () => {
      const response = await launch('steady', 'exec sleep 300', {
        resources: [scalar('cpus', 0.5), scalar('mem', 32)],
        limits: { cpus: { value: 1 }, mem: { value: 'infinity' } },
      });
      expect(response.status, await response.text()).toBe(200);
      const containers = (await (await agent.get('/containers')).json()) as {
        container_id: string;
        statistics?: Record<string, number>;
      }[];
      const statistics = containers.find((entry) => entry.container_id === 'steady')?.statistics;
      expect(statistics).toMatchObject({
        cpus_limit: 1,
        cpus_soft_limit: 0.5,
        mem_soft_limit_bytes: 32 * 1024 * 1024,
      });
      expect(statistics?.cpus_nr_periods).toBeGreaterThanOrEqual(0);
      expect(statistics?.mem_total_bytes).toBeGreaterThan(0);
      expect(statistics?.threads).toBeGreaterThan(0);
      const listed = (await (await agent.call({ type: 'GET_CONTAINERS' })).json()) as {
        get_containers: {
          containers: { container_id: { value: string }; resource_statistics?: object }[];
        };
      };
      expect(
        listed.get_containers.containers.find((entry) => entry.container_id.value === 'steady')
          ?.resource_statistics,
      ).toMatchObject({ cpus_limit: 1 });
      await agent.call({
        type: 'KILL_CONTAINER',
        kill_container: { container_id: { value: 'steady' } },
      });
    });

    it.each([
      [
        'a negative request',
        { resources: [scalar('cpus', -1)] },
        /'launch_container.resources\[name=cpus\]' is .*accepted: .*finite number >= 0/,
      ],
      [
        'a NaN-like request',
        { resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 'NaN' } }] },
        /Failed to parse 'NaN' as a JSON number for field 'value'/,
      ],
      [
        'a negative limit',
        { limits: { mem: { value: -64 } } },
        /'launch_container.limits.mem' is .*accepted: .*or \{"value": "infinity"\}/,
      ],
      [
        'a limit below its request',
        { resources: [scalar('mem', 128)], limits: { mem: { value: 64 } } },
        /'limits.mem' is invalid: 64 is below the request 128/,
      ],
      [
        'a cpus limit below its request',
        { resources: [scalar('cpus', 2)], limits: { cpus: { value: 1 } } },
        /'limits.cpus' is invalid: 1 is below the request 2/,
      ],
      ['an unknown resource', { resources: [scalar('gpus', 1)] }, /resources\[name=gpus\]/],
      ['an unknown limit', { limits: { disk: { value: 1 } } }, /limits.disk/],
    ])('refuses %s with 400 naming the field, creating nothing', async (_what, fields, message) => {
      const response = await launch('refused', 'exec sleep 300', fields);
      expect(response.status).toBe(400);
      expect(await response.text()).toMatch(message);
      expect(leftovers().filter((cgroup) => cgroup.endsWith('/refused'))).toEqual([]);
      const containers = (await (await agent.get('/containers')).json()) as {
        container_id: string;
      }[];
      expect(containers.map((entry) => entry.container_id)).not.toContain('refused');
    });
  },
);
