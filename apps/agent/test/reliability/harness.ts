import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyCgroup, findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { isRunning } from '@corral/procfs';
import { type RunningAgent, recoveredState, runningTasks, startAgent } from '../agent-process.ts';

/** Counts scale with CORRAL_RELIABILITY_FULL=1 (the full figures) vs. CI's reduced ones. */
export const FULL = process.env.CORRAL_RELIABILITY_FULL === '1';

/** A sandbox for one scenario: its own dirs and cgroups root, and the agents started in it. */
export class Scenario {
  readonly root: string = mkdtempSync(join(tmpdir(), 'corral-reliability-'));
  readonly cgroupsRoot = `corral-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  readonly agents: RunningAgent[] = [];
  readonly extraFlags: string[];
  readonly runtimeDir: string;
  readonly workDir: string;
  readonly isolation: string;

  constructor(
    extraFlags: string[] = [],
    options: { runtimeDir?: string; workDir?: string; isolation?: string } = {},
  ) {
    this.extraFlags = extraFlags;
    this.runtimeDir = options.runtimeDir ?? join(this.root, 'run');
    this.workDir = options.workDir ?? join(this.root, 'work');
    this.isolation = options.isolation ?? 'cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem';
  }

  flags(): string[] {
    return [
      `--work_dir=${this.workDir}`,
      `--runtime_dir=${this.runtimeDir}`,
      `--cgroups_root=${this.cgroupsRoot}`,
      '--launcher=linux',
      `--isolation=${this.isolation}`,
      '--cgroups_net_cls_primary_handle=0x19',
      ...this.extraFlags,
    ];
  }

  async start(env: Record<string, string> = {}, extra: string[] = []): Promise<RunningAgent> {
    const agent = await startAgent([...this.flags(), ...extra], env);
    this.agents.push(agent);
    return agent;
  }

  /** Kills every container and agent, removes the dirs and cgroup roots. */
  async cleanup(): Promise<void> {
    for (const agent of this.agents) await agent.stop('SIGKILL');
    const sweeper = await startAgent(this.flags());
    const state = await recoveredState(sweeper);
    await Promise.all(runningTasks(state).map((task) => stopContainer(sweeper, task.id)));
    await sweeper.stop('SIGTERM');
    for (const hierarchy of [findCgroup2Mount(), findV1Hierarchy('net_cls')]) {
      if (hierarchy) await destroyCgroup(hierarchy, this.cgroupsRoot, { timeoutMs: 10_000 });
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /**
   * The invariants of the issue, as problems found (empty when they hold): nothing under the
   * cgroups root, runtime dir or handle pool without a running container; every running container
   * has a distinct classid that matches the kernel; every terminated one has a termination.
   */
  async invariants(agent: RunningAgent): Promise<string[]> {
    const problems: string[] = [];
    const state = await recoveredState(agent);
    const running = runningTasks(state);
    const runningIds = running.map((task) => task.id).sort();
    const dirs = (path: string | undefined) =>
      path && existsSync(path)
        ? readdirSync(path, { withFileTypes: true })
            .filter((entry) => entry.isDirectory())
            .map((entry) => entry.name)
            .sort()
        : [];
    const compare = (what: string, found: string[]) => {
      if (JSON.stringify(found) !== JSON.stringify(runningIds)) {
        problems.push(
          `${what}: ${JSON.stringify(found)} but running containers are ${JSON.stringify(runningIds)}`,
        );
      }
    };
    compare('tracking cgroups', dirs(join(findCgroup2Mount() ?? '', this.cgroupsRoot)));
    compare('net_cls cgroups', dirs(join(findV1Hierarchy('net_cls') ?? '', this.cgroupsRoot)));
    compare('runtime dirs', dirs(join(this.runtimeDir, 'containers')));
    const metrics = (await (await agent.get('/metrics/snapshot')).json()) as Record<string, number>;
    if (metrics['isolator/cgroups/net_cls/handles_in_use'] !== running.length) {
      problems.push(
        `net_cls handles in use: ${metrics['isolator/cgroups/net_cls/handles_in_use']} for ${running.length} running containers`,
      );
    }
    const shmMounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes(this.root));
    if (shmMounts.length > 0)
      problems.push(`host mounts under the scenario: ${shmMounts.join('; ')}`);
    const classids = running.map(
      (task) => task.statuses.at(-1)?.container_status?.cgroup_info?.net_cls?.classid,
    );
    if (classids.some((classid) => classid === undefined))
      problems.push(`a running container reports no classid: ${JSON.stringify(classids)}`);
    if (new Set(classids).size !== classids.length)
      problems.push(`duplicate classids: ${JSON.stringify(classids)}`);
    for (const task of running) {
      const file = join(
        findV1Hierarchy('net_cls') ?? '',
        this.cgroupsRoot,
        task.id,
        'net_cls.classid',
      );
      const kernel = existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
      const reported = task.statuses.at(-1)?.container_status?.cgroup_info?.net_cls?.classid;
      if (kernel !== reported)
        problems.push(`${task.id}: classid ${reported} in /state, ${kernel} in the kernel`);
    }
    const containers = (await (await agent.get('/containers')).json()) as {
      container_id: string;
      status?: { executor_pid?: number };
    }[];
    for (const container of containers) {
      const pid = container.status?.executor_pid;
      if (pid !== undefined && !isRunning(pid))
        problems.push(`${container.container_id}: init ${pid} is not running`);
    }
    for (const framework of state.frameworks) {
      for (const executor of framework.completed_executors) {
        for (const task of executor.completed_tasks) {
          const waited = await agent.call({
            type: 'WAIT_CONTAINER',
            wait_container: { container_id: { value: task.id } },
          });
          const body = (await waited.json()) as { wait_container?: { state?: string } };
          if (!body.wait_container?.state)
            problems.push(`${task.id}: terminated without a termination`);
        }
      }
    }
    return problems;
  }
}

export const launchCall = (
  value: string,
  command = 'exec sleep 300',
  extra: Record<string, unknown> = {},
) => ({
  type: 'LAUNCH_CONTAINER',
  launch_container: { container_id: { value }, command: { value: command }, ...extra },
});

/** KILL + WAIT + REMOVE; tolerant of a container that is already gone. */
export async function stopContainer(agent: RunningAgent, value: string): Promise<void> {
  const id = { container_id: { value } };
  await agent.call({ type: 'KILL_CONTAINER', kill_container: id });
  await agent.call({ type: 'WAIT_CONTAINER', wait_container: id });
  await agent.call({ type: 'REMOVE_CONTAINER', remove_container: id });
}

export function scenarioTmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
