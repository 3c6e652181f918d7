import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findV1Hierarchy } from '@corral/cgroupfs';
import { isRunning } from '@corral/procfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BUILTIN_ISOLATOR_PACKAGES } from '../src/isolation/builtin.ts';
import {
  isolatedAgentFlags,
  type RunningAgent,
  recoveredState,
  runAgent,
  runningTasks,
  startAgent,
  type WaitJson,
} from './agent-process.ts';

let dir: string;
let cgroupsRoot: string;
let agents: RunningAgent[] = [];

function flags(): string[] {
  return isolatedAgentFlags(dir, cgroupsRoot);
}

async function start(extra: string[] = []): Promise<RunningAgent> {
  const agent = await startAgent([...flags(), ...extra]);
  agents.push(agent);
  return agent;
}

const launch = (agent: RunningAgent, value: string, command: string) =>
  agent.call({
    type: 'LAUNCH_CONTAINER',
    launch_container: { container_id: { value }, command: { value: command } },
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-agent-e2e-'));
  cgroupsRoot = `corral-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
});

afterEach(async () => {
  // Whatever a failed test left: stop agents, then kill every container process it started.
  for (const agent of agents) await agent.stop('SIGKILL');
  agents = [];
  const cleanup = await startAgent(flags());
  const state = await recoveredState(cleanup);
  for (const task of runningTasks(state)) {
    await cleanup.call({
      type: 'KILL_CONTAINER',
      kill_container: { container_id: { value: task.id } },
    });
    await cleanup.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: task.id } },
    });
  }
  await cleanup.stop('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of ['/sys/fs/cgroup/unified', findV1Hierarchy('net_cls')]) {
    const root = hierarchy && join(hierarchy, cgroupsRoot);
    if (root && existsSync(root)) rmdirSync(root);
  }
});

describeOnKernel('corral-agent as an operator runs it', { root: true, cgroup2: true }, () => {
  it('launches over HTTP, survives SIGKILL, recovers, kills, waits, stops on SIGTERM, leaks nothing', async () => {
    const first = await start();
    for (const id of ['a', 'b', 'c'])
      expect((await launch(first, id, 'echo started; exec sleep 300')).status).toBe(200);
    expect((await launch(first, 'a', 'true')).status).toBe(202);

    const before = await recoveredState(first);
    const tasks = runningTasks(before);
    expect(tasks.map((task) => task.id).sort()).toEqual(['a', 'b', 'c']);
    expect(
      tasks.every(
        (task) => task.statuses.map((s) => s.state).join() === 'TASK_STARTING,TASK_RUNNING',
      ),
    ).toBe(true);
    // Each has a distinct managed classid 0x0019xxxx, the one the kernel has for its cgroup.
    const classids = new Map(
      tasks.map((task) => [
        task.id,
        task.statuses.at(-1)?.container_status?.cgroup_info?.net_cls?.classid,
      ]),
    );
    expect(new Set(classids.values()).size).toBe(3);
    for (const [id, classid] of classids) {
      expect((classid ?? 0) >>> 16).toBe(0x19);
      const file = join(findV1Hierarchy('net_cls') ?? '', cgroupsRoot, id, 'net_cls.classid');
      expect(Number(readFileSync(file, 'utf8'))).toBe(classid);
    }
    const containers = (await (await first.get('/containers')).json()) as {
      container_id: string;
      status: { executor_pid: number };
    }[];
    const pids = new Map(containers.map((c) => [c.container_id, c.status.executor_pid]));
    expect([...pids.values()].every(isRunning)).toBe(true);
    // LAUNCH answers once the command is exec'd: its first output may come a moment later.
    await expect
      .poll(() => readFileSync(join(dir, 'work', 'containers', 'a', 'stdout'), 'utf8'))
      .toBe('started\n');

    // SIGKILL loses nothing: the containers keep running and the next agent recovers them.
    expect(await first.stop('SIGKILL')).toBe(null);
    expect([...pids.values()].every(isRunning)).toBe(true);
    const second = await start();
    const after = await recoveredState(second);
    expect(
      runningTasks(after)
        .map((task) => task.id)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    const classidsAfter = new Map(
      runningTasks(after).map((task) => [
        task.id,
        task.statuses.at(-1)?.container_status?.cgroup_info?.net_cls?.classid,
      ]),
    );
    expect(classidsAfter).toEqual(classids);
    const recovered = (await (await second.get('/containers')).json()) as {
      container_id: string;
      status: { executor_pid: number };
    }[];
    expect(new Map(recovered.map((c) => [c.container_id, c.status.executor_pid]))).toEqual(pids);

    // Kill one; WAIT returns its status; it moves to the completed tasks.
    expect(
      (
        await second.call({
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: 'b' } },
        })
      ).status,
    ).toBe(200);
    const waited = await second.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'b' } },
    });
    expect(await waited.json()).toMatchObject({
      type: 'WAIT_CONTAINER',
      wait_container: { exit_status: 9, state: 'TASK_KILLED' },
    });
    expect(isRunning(pids.get('b') ?? 0)).toBe(false);
    const completed = (await recoveredState(second)).frameworks[0]?.completed_executors ?? [];
    expect(completed.map((executor) => executor.id)).toEqual(['b']);

    // SIGTERM: exit 0, containers keep running.
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(isRunning(pids.get('a') ?? 0)).toBe(true);

    // A third agent still knows b's termination until it is removed, and cleans up the rest.
    const third = await start();
    await recoveredState(third);
    const again = await third.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'b' } },
    });
    expect(((await again.json()) as WaitJson).wait_container.exit_status).toBe(9);
    for (const id of ['a', 'c']) {
      await third.call({ type: 'KILL_CONTAINER', kill_container: { container_id: { value: id } } });
      await third.call({ type: 'WAIT_CONTAINER', wait_container: { container_id: { value: id } } });
    }
    for (const id of ['a', 'b', 'c']) {
      expect(
        (
          await third.call({
            type: 'REMOVE_CONTAINER',
            remove_container: { container_id: { value: id } },
          })
        ).status,
      ).toBe(200);
    }
    expect(runningTasks(await recoveredState(third))).toEqual([]);
    expect(await third.stop('SIGTERM')).toBe(0);

    expect([...pids.values()].some(isRunning)).toBe(false);
    expect(readdirSync(join(dir, 'run', 'containers'))).toEqual([]);
    expect(readdirSync(join(dir, 'work', 'containers'))).toEqual([]);
    for (const hierarchy of ['/sys/fs/cgroup/unified', findV1Hierarchy('net_cls') ?? '']) {
      const children = readdirSync(join(hierarchy, cgroupsRoot), { withFileTypes: true });
      expect(children.filter((entry) => entry.isDirectory()).map((entry) => entry.name)).toEqual(
        [],
      );
    }
  });

  it('answers a launch that fails with 400 and leaves nothing behind', async () => {
    const agent = await start();
    const response = await launch(agent, 'nosuch', 'exec /nonexistent/binary');
    expect(response.status).toBe(200); // the shell starts; the command fails after exec
    const waited = await agent.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'nosuch' } },
    });
    expect(((await waited.json()) as WaitJson).wait_container).toMatchObject({
      exit_status: 127 << 8,
      state: 'TASK_FAILED',
    });
    const direct = await agent.call({
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: 'direct' },
        command: { shell: false, value: '/nonexistent/binary' },
      },
    });
    expect(direct.status).toBe(400);
    expect(await direct.text()).toMatch(/nonexistent\/binary/);
    expect(existsSync(join(dir, 'run', 'containers', 'direct'))).toBe(false);
    expect(existsSync(join(dir, 'work', 'containers', 'direct'))).toBe(false);
    // The id can be used again after a failed launch.
    expect((await launch(agent, 'direct', 'true')).status).toBe(200);
  });
});

describeOnKernel('corral-agent start-up errors', {}, () => {
  it.each([
    [
      ['--isolation=posix/gpu'],
      new RegExp(
        `^corral-agent: Unknown isolator 'posix/gpu' in --isolation: known isolators are ${[...BUILTIN_ISOLATOR_PACKAGES.keys()].sort().join(', ')}`,
      ),
    ],
    [
      ['--isolation=posix/cpu,posix/cpu'],
      /^corral-agent: --isolation 'posix\/cpu,posix\/cpu' names 'posix\/cpu' more than once/,
    ],
    [['--port=abc'], /^corral-agent: Invalid value 'abc' for flag --port/],
    [
      ['--isolation=cgroups/net_cls', '--cgroups_net_cls_primary_handle=0x10000'],
      /^corral-agent: Invalid value '0x10000' for flag --cgroups_net_cls_primary_handle: .*accepted: /,
    ],
    [
      ['--cgroups_net_cls_primary_handle=0x19'],
      /^corral-agent: Flag --cgroups_net_cls_primary_handle belongs to isolator 'cgroups\/net_cls', which is not enabled in --isolation/,
    ],
    [
      ['--http_credentials=/nonexistent/credentials.json'],
      /^corral-agent: Cannot read --http_credentials file/,
    ],
  ])('%j exits non-zero with one line', (argv, message) => {
    const result = runAgent([
      `--work_dir=${join(dir, 'w')}`,
      `--runtime_dir=${join(dir, 'r')}`,
      ...argv,
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
