import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { processPrivileges } from '@corral/test-support/proc-status';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type RunningAgent, recoveredState, runningTasks, startAgent } from './agent-process.ts';

let dir: string;
let agents: RunningAgent[] = [];

const BOUND = '{"capabilities": ["NET_BIND_SERVICE", "CHOWN"]}';

/** An agent whose containers need no cgroups (posix launcher), with `isolation`. */
async function start(isolation: string, extra: string[] = []): Promise<RunningAgent> {
  const agent = await startAgent([
    `--work_dir=${join(dir, 'work')}`,
    `--runtime_dir=${join(dir, 'run')}`,
    '--launcher=posix',
    `--isolation=${isolation}`,
    ...extra,
  ]);
  agents.push(agent);
  return agent;
}

const launch = (agent: RunningAgent, value: string, command: object, container?: object) =>
  agent.call({
    type: 'LAUNCH_CONTAINER',
    launch_container: {
      container_id: { value },
      command,
      ...(container ? { container: { type: 'MESOS', ...container } } : {}),
    },
  });

const wait = (agent: RunningAgent, value: string) =>
  agent.call({ type: 'WAIT_CONTAINER', wait_container: { container_id: { value } } });

/** Nothing of container `id` exists: no sandbox, no runtime dir, no task. */
async function nothingOf(agent: RunningAgent, id: string): Promise<void> {
  expect(existsSync(join(dir, 'work', 'containers', id))).toBe(false);
  expect(existsSync(join(dir, 'run', 'containers', id))).toBe(false);
  expect(runningTasks(await recoveredState(agent)).map((task) => task.id)).not.toContain(id);
}

interface ContainersEntry {
  readonly container_id: string;
  readonly status?: { readonly executor_pid?: number; readonly privileges?: unknown };
}

async function entryOf(agent: RunningAgent, id: string): Promise<ContainersEntry | undefined> {
  const entries = (await (await agent.get('/containers')).json()) as ContainersEntry[];
  return entries.find((entry) => entry.container_id === id);
}

/** The pid of the command under container `id`'s init. */
function commandPid(initPid: number): number {
  return Number(readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim());
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-agent-privileges-'));
});

afterEach(async () => {
  for (const agent of agents) {
    // The posix launcher's containers outlive a killed agent: end them through the API first.
    if (agent.child.exitCode === null) {
      for (const task of runningTasks(await recoveredState(agent))) {
        await agent.call({
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: task.id } },
        });
        await wait(agent, task.id);
      }
    }
    await agent.stop('SIGTERM');
  }
  agents = [];
  rmSync(dir, { recursive: true, force: true });
});

describeOnKernel('corral-agent: users, capabilities, no_new_privs', { root: true }, () => {
  it('runs a command as nobody with exactly its capabilities, and reports them', async () => {
    const agent = await start('posix/cpu,posix/mem,linux/capabilities', [
      `--bounding_capabilities=${BOUND}`,
    ]);
    const ids = await launch(agent, 'ids', { value: 'id -u; id -G', user: 'nobody' });
    expect(ids.status).toBe(200);
    await wait(agent, 'ids');
    const groups = execFileSync('id', ['-G', 'nobody'], { encoding: 'utf8' });
    expect(readFileSync(join(dir, 'work', 'containers', 'ids', 'stdout'), 'utf8')).toBe(
      `65534\n${groups}`,
    );

    const web = await launch(
      agent,
      'web',
      { value: 'sleep 30', user: 'nobody' },
      { linux_info: { effective_capabilities: { capabilities: ['NET_BIND_SERVICE'] } } },
    );
    expect(web.status).toBe(200);
    const entry = await entryOf(agent, 'web');
    const kernel = processPrivileges(commandPid(entry?.status?.executor_pid ?? 0));
    expect(kernel.uids).toEqual([65534, 65534, 65534, 65534]);
    expect(kernel.effective).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.permitted).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.ambient).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.bounding).toEqual(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']);
    expect(kernel.noNewPrivs).toBe(true);
    const privileges = {
      user: 'nobody',
      uid: 65534,
      gid: 65534,
      groups: groups.trim().split(' ').map(Number),
      effective_capabilities: ['NET_BIND_SERVICE'],
      bounding_capabilities: ['NET_BIND_SERVICE', 'CHOWN'],
      no_new_privileges: true,
    };
    expect(entry?.status?.privileges).toEqual(privileges);
    const task = runningTasks(await recoveredState(agent)).find((t) => t.id === 'web');
    expect(task?.statuses.at(-1)?.container_status).toMatchObject({ privileges });
  });

  it('refuses capability fields when linux/capabilities is not enabled', async () => {
    const agent = await start('posix/cpu,posix/mem');
    const response = await launch(
      agent,
      'caps',
      { value: 'true' },
      { linux_info: { effective_capabilities: { capabilities: ['CHOWN'] } } },
    );
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain('container.linux_info.effective_capabilities');
    expect(text).toContain('linux/capabilities');
    await nothingOf(agent, 'caps');
    // The user switch is the engine's: it needs no isolator.
    expect((await launch(agent, 'user', { value: 'true', user: 'nobody' })).status).toBe(200);
  });

  it('answers each bad input with 400 naming it, and creates nothing', async () => {
    const agent = await start('posix/cpu,posix/mem,linux/capabilities', [
      `--bounding_capabilities=${BOUND}`,
    ]);
    const effective = (...capabilities: string[]) => ({
      linux_info: { effective_capabilities: { capabilities } },
    });
    const cases: [string, object, object | undefined, string][] = [
      [
        'unknown-user',
        { value: 'true', user: 'corral-no-such-user' },
        undefined,
        "no user 'corral-no-such-user'",
      ],
      ['unknown-cap', { value: 'true' }, effective('FLY'), "'FLY' is not a capability"],
      ['unknown-enum', { value: 'true' }, effective('UNKNOWN'), "'UNKNOWN' is not a capability"],
      ['duplicate', { value: 'true' }, effective('CHOWN', 'cap_chown'), 'CHOWN is given twice'],
      [
        'beyond-bound',
        { value: 'true' },
        effective('SYS_ADMIN'),
        'asks for {SYS_ADMIN}, outside what the agent allows',
      ],
      [
        'not-inside',
        { value: 'true' },
        {
          linux_info: {
            effective_capabilities: { capabilities: ['CHOWN'] },
            bounding_capabilities: { capabilities: ['NET_BIND_SERVICE'] },
          },
        },
        'asks for {CHOWN}, outside the bounding set asked for, {NET_BIND_SERVICE}',
      ],
      [
        'nnp-opt-out',
        { value: 'true' },
        { linux_info: { no_new_privileges: false } },
        'container.linux_info.no_new_privileges',
      ],
    ];
    for (const [id, command, container, message] of cases) {
      const response = await launch(agent, id, command, container);
      expect({ id, status: response.status }).toEqual({ id, status: 400 });
      expect(await response.text()).toContain(message);
      await nothingOf(agent, id);
    }
  });

  it('refuses a user under --switch_user=false instead of running it as root', async () => {
    const agent = await start('posix/cpu,posix/mem', ['--switch_user=false']);
    const response = await launch(agent, 'noswitch', { value: 'id -u', user: 'nobody' });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("cannot run as 'nobody'");
    await nothingOf(agent, 'noswitch');
  });
});
