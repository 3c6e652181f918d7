import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCgroup, findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { agentDirFlags, type RunningAgent, recoveredState, startAgent } from './agent-process.ts';

/*
 * The agent's test script runs this suite in network and mount namespaces of its own
 * (scripts/in-own-network.sh): the veth, the receiver namespace and 198.18.3.32/29 exist only
 * there. The agent shapes and counts on its end of the veth.
 */
const PRIMARY = '0x7a5';
const TABLE = 'corral_egress_07a5';
const DEV = `egag${process.pid % 10_000}`;
const NETNS = `corral-egress-agent-${process.pid}`;
const LOCAL = '198.18.3.33';
const REMOTE = '198.18.3.34';
let dir: string;
const cgroupsRoot = `corral-test-${process.pid}-egress`;
const agents: RunningAgent[] = [];
const TEARDOWN = fileURLToPath(
  new URL(
    '../node_modules/@corral/isolator-cgroups-net-cls/bin/corral-net-cls-egress-teardown.js',
    import.meta.url,
  ),
);
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-agent-egress-'));
  ip('netns', 'add', NETNS);
  ip('link', 'add', DEV, 'type', 'veth', 'peer', 'name', 'rx0', 'netns', NETNS);
  ip('addr', 'add', `${LOCAL}/29`, 'dev', DEV);
  ip('link', 'set', DEV, 'up');
  ip('-n', NETNS, 'addr', 'add', `${REMOTE}/29`, 'dev', 'rx0');
  ip('-n', NETNS, 'link', 'set', 'rx0', 'up');
});

afterAll(async () => {
  for (const agent of agents) await agent.stop('SIGKILL');
  for (const hierarchy of [
    findCgroup2Mount(),
    findV1Hierarchy('freezer'),
    findV1Hierarchy('net_cls'),
  ]) {
    if (hierarchy) await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
  execFileSync('sh', [
    '-c',
    `nft delete table inet ${TABLE} 2>/dev/null; ip link del ${DEV} 2>/dev/null; ip netns del ${NETNS}; true`,
  ]);
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<RunningAgent> {
  const agent = await startAgent([
    ...agentDirFlags(dir, cgroupsRoot),
    '--isolation=cgroups/net_cls,posix/cpu',
    `--cgroups_net_cls_primary_handle=${PRIMARY}`,
    '--cgroups_net_cls_egress_accounting=true',
    `--cgroups_net_cls_egress_interfaces=${DEV}`,
    '--cgroups_net_cls_egress_rate_limit=50M',
  ]);
  agents.push(agent);
  await recoveredState(agent);
  return agent;
}

interface ContainerJson {
  readonly container_id: string;
  readonly statistics: {
    readonly net_tx_bytes?: number;
    readonly net_tx_packets?: number;
    readonly net_tx_rate_limit?: number;
  };
}

async function statistics(
  agent: RunningAgent,
): Promise<Record<string, ContainerJson['statistics']>> {
  const containers = (await (await agent.get('/containers')).json()) as ContainerJson[];
  return Object.fromEntries(containers.map((c) => [c.container_id, c.statistics]));
}

const SENDER = `p=$(printf '%0500d' 0); for ((i = 0; i < 100; i++)); do printf %s "$p" > /dev/udp/${REMOTE}/9; done; echo ok > done; exec sleep 301`;

describeOnKernel(
  'egress accounting and shaping through the agent',
  { root: true, cgroupSubsystems: ['net_cls'], commands: ['nft', 'tc', 'bash'] },
  () => {
    it('reports each container its egress and limit in /containers, across a crash, and cleans up', async () => {
      const first = await start();
      const launched = await first.call({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: 'sender' },
          command: { shell: false, value: 'bash', arguments: ['bash', '-c', SENDER] },
          limits: { network_egress: { value: 20_000_000 } },
        },
      });
      expect(launched.status, await launched.text()).toBe(200);
      const idle = await first.call({
        type: 'LAUNCH_CONTAINER',
        launch_container: { container_id: { value: 'idle' }, command: { value: 'exec sleep 301' } },
      });
      expect(idle.status, await idle.text()).toBe(200);
      const expected = {
        sender: { net_tx_bytes: 100 * 528, net_tx_packets: 100, net_tx_rate_limit: 2_500_000 },
        idle: { net_tx_bytes: 0, net_tx_packets: 0, net_tx_rate_limit: 6_250_000 },
      };
      await expect.poll(() => statistics(first), { timeout: 10_000 }).toMatchObject(expected);
      const snapshot = (await (await first.get('/metrics/snapshot')).json()) as Record<
        string,
        number
      >;
      expect(snapshot).toMatchObject({
        'isolator/cgroups/net_cls/egress_counted': 2,
        'isolator/cgroups/net_cls/egress_shaped': 2,
      });
      expect(execFileSync('tc', ['class', 'show', 'dev', DEV], { encoding: 'utf8' })).toMatch(
        /class htb 7a5:1 .*rate 20Mbit/,
      );

      await first.stop('SIGKILL');
      const second = await start();
      expect(await statistics(second)).toMatchObject(expected);

      for (const value of ['sender', 'idle']) {
        await second.call({ type: 'KILL_CONTAINER', kill_container: { container_id: { value } } });
        await second.call({ type: 'WAIT_CONTAINER', wait_container: { container_id: { value } } });
      }
      expect(execFileSync('tc', ['class', 'show', 'dev', DEV], { encoding: 'utf8' })).toBe('');
      for (const [kind, name] of [
        ['set', 'acct'],
        ['map', 'shape'],
      ] as const) {
        const listing = execFileSync('nft', ['list', kind, 'inet', TABLE, name], {
          encoding: 'utf8',
        });
        expect(listing).not.toMatch(/elements/);
      }
      await second.stop('SIGTERM');

      // Stopped for good: the operator command removes the table and the HTB root.
      execFileSync(process.execPath, [TEARDOWN, join(dir, 'run')]);
      expect(() =>
        execFileSync('nft', ['list', 'table', 'inet', TABLE], { stdio: 'pipe' }),
      ).toThrow();
      expect(
        execFileSync('tc', ['qdisc', 'show', 'dev', DEV, 'root'], { encoding: 'utf8' }),
      ).not.toMatch(/htb/);
    });
  },
);
