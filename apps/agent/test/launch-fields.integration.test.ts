import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyCgroup, findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  agentDirFlags,
  type RunningAgent,
  recoveredState,
  runningTasks,
  startAgent,
} from './agent-process.ts';

const MODULES = new URL('./fixtures/modules.json', import.meta.url).pathname;

let dir: string;
const cgroupsRoot = `corral-test-${process.pid}-fields`;
const agents: RunningAgent[] = [];

async function start(isolation: string): Promise<RunningAgent> {
  const agent = await startAgent([
    ...agentDirFlags(dir, cgroupsRoot),
    `--modules=${MODULES}`,
    `--isolation=${isolation}`,
    ...(isolation.includes('cgroups/net_cls') ? ['--cgroups_net_cls_primary_handle=0x7a'] : []),
  ]);
  agents.push(agent);
  await recoveredState(agent);
  return agent;
}

const launch = (agent: RunningAgent, value: string, fields: Record<string, unknown>) =>
  agent.call({
    type: 'LAUNCH_CONTAINER',
    launch_container: {
      container_id: { value },
      ...fields,
      command: { value: 'echo "networks=$ACME_NETWORKS"', ...(fields.command as object) },
    },
  });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-launch-fields-'));
});

afterAll(async () => {
  for (const agent of agents) await agent.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of [
    findCgroup2Mount(),
    findV1Hierarchy('freezer'),
    findV1Hierarchy('net_cls'),
  ]) {
    if (hierarchy) await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
});

/** Each field the issue found silently ignored, as an operator would send it. */
const IGNORED_BEFORE: readonly [string, Record<string, unknown>][] = [
  ['command.uris', { command: { uris: [{ value: 'http://127.0.0.1:1/x' }] } }],
  [
    'container.mesos.image',
    {
      container: {
        type: 'MESOS',
        mesos: { image: { type: 'DOCKER', docker: { name: 'busybox' } } },
      },
    },
  ],
  [
    'container.volumes',
    { container: { volumes: [{ container_path: 'data', host_path: '/tmp', mode: 'RW' }] } },
  ],
  ['container.network_infos', { container: { network_infos: [{ name: 'blue' }] } }],
  ['resources[name=mem]', { resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }] }],
  ['limits.cpus', { limits: { cpus: { value: 1 } } }],
  ['container.tty_info', { container: { tty_info: { window_size: { rows: 24, columns: 80 } } } }],
  [
    'container.rlimit_info',
    { container: { rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 64 }] } } },
  ],
  [
    'container.linux_info.effective_capabilities',
    { container: { linux_info: { effective_capabilities: { capabilities: ['CHOWN'] } } } },
  ],
  [
    'container.linux_info.share_pid_namespace',
    { container: { linux_info: { share_pid_namespace: true } } },
  ],
  [
    'container.linux_info.seccomp',
    { container: { linux_info: { seccomp: { profile_name: 'default.json' } } } },
  ],
];

describeOnKernel('launch fields nothing honours are refused', { root: true, cgroup2: true }, () => {
  it('refuses each with 400 naming the field and what would honour it, creating nothing', async () => {
    const agent = await start('cgroups/net_cls,posix/cpu,posix/mem');
    for (const [field, fields] of IGNORED_BEFORE) {
      const response = await launch(agent, `refused-${field.replace(/[^a-z]/g, '-')}`, fields);
      const text = await response.text();
      expect(response.status, `${field}: ${text}`).toBe(400);
      expect(text).toContain(`'${field}'`);
    }
    // The messages point the operator somewhere: an isolator to enable, or why there is none.
    const networks = await (await launch(agent, 'n', IGNORED_BEFORE[3]?.[1] ?? {})).text();
    expect(networks).toContain(
      "needs the 'acme/networks' or 'network/cni' isolator, which is not in --isolation (enable it: --isolation=cgroups/net_cls,posix/cpu,posix/mem,acme/networks)",
    );
    const uris = await (await launch(agent, 'u', IGNORED_BEFORE[0]?.[1] ?? {})).text();
    expect(uris).toMatch(/'command.uris' is not supported: Corral has no fetcher/);

    // Nothing was created: no record, sandbox, checkpoint, cgroup or net_cls handle.
    expect(runningTasks(await recoveredState(agent))).toEqual([]);
    expect(readdirSync(join(dir, 'work', 'containers'))).toEqual([]);
    expect(readdirSync(join(dir, 'run', 'containers'))).toEqual([]);
    for (const hierarchy of [findCgroup2Mount(), findV1Hierarchy('net_cls')]) {
      const root = hierarchy && join(hierarchy, cgroupsRoot);
      if (root && existsSync(root)) {
        expect(readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory())).toEqual(
          [],
        );
      }
    }
    const metrics = (await (await agent.get('/metrics/snapshot')).json()) as Record<string, number>;
    expect(metrics['isolator/cgroups/net_cls/handles_in_use']).toBe(0);

    // Defaults ask for nothing, and unknown keys are ignored as Mesos does.
    const plain = await launch(agent, 'defaults', {
      command: { shell: true, uris: [] },
      container: {
        type: 'MESOS',
        volumes: [],
        linux_info: { share_pid_namespace: false },
        newer_field: 1,
      },
    });
    expect(plain.status, await plain.text()).toBe(200);
    await agent.stop('SIGTERM');
  });

  it('accepts a field once an isolator that declares it is enabled, and it acts on it', async () => {
    const agent = await start('posix/cpu,acme/networks');
    const response = await launch(agent, 'networked', IGNORED_BEFORE[3]?.[1] ?? {});
    expect(response.status, await response.text()).toBe(200);
    await agent.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'networked' } },
    });
    expect(readFileSync(join(dir, 'work', 'containers', 'networked', 'stdout'), 'utf8')).toBe(
      'networks=blue\n',
    );
    await agent.stop('SIGTERM');
  });
});
