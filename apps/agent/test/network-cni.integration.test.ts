import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

/*
 * The agent's test script runs this suite in network and mount namespaces of its own
 * (scripts/in-own-network.sh): the bridge, veths and the 198.18.1.0/24 addresses exist only there.
 */
let dir: string;
const cgroupsRoot = `corral-test-${process.pid}-cni`;
const agents: RunningAgent[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-agent-cni-'));
  mkdirSync(join(dir, 'net.d'));
  writeFileSync(
    join(dir, 'net.d', 'green.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'green',
      plugins: [
        {
          type: 'bridge',
          bridge: 'corral-green',
          isGateway: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '198.18.1.0/24' }]],
            dataDir: join(dir, 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
});

afterAll(async () => {
  for (const agent of agents) await agent.stop('SIGKILL');
  execFileSync('sh', ['-c', 'pkill -f "^sleep 301$"; ip link del corral-green 2>/dev/null; true']);
  for (const hierarchy of [findCgroup2Mount(), findV1Hierarchy('freezer')]) {
    if (hierarchy) await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<RunningAgent> {
  const agent = await startAgent([
    ...agentDirFlags(dir, cgroupsRoot),
    '--isolation=network/cni,posix/cpu',
    `--network_cni_config_dir=${join(dir, 'net.d')}`,
    '--network_cni_plugins_dir=/usr/lib/cni',
  ]);
  agents.push(agent);
  await recoveredState(agent);
  return agent;
}

const launch = (agent: RunningAgent, value: string, command: string, networkInfos: unknown[]) =>
  agent.call({
    type: 'LAUNCH_CONTAINER',
    launch_container: {
      container_id: { value },
      command: { value: command },
      container: { type: 'MESOS', network_infos: networkInfos },
    },
  });

interface NetworkJson {
  readonly name?: string;
  readonly ip_addresses?: readonly { readonly protocol?: string; readonly ip_address?: string }[];
}

describeOnKernel('network/cni through the agent', { root: true, cgroup2: true }, () => {
  it('shows each container its address in /state and /containers, and survives an agent crash', async () => {
    const first = await start();
    for (const id of ['a', 'b']) {
      const response = await launch(first, id, 'exec sleep 301', [{ name: 'green' }]);
      expect(response.status, await response.text()).toBe(200);
    }
    const addresses = runningTasks(await recoveredState(first)).map((task) => {
      const networks = (task.statuses.at(-1)?.container_status as { network_infos?: NetworkJson[] })
        ?.network_infos;
      expect(networks?.[0]?.name).toBe('green');
      expect(networks?.[0]?.ip_addresses?.[0]?.protocol).toBe('IPv4');
      return networks?.[0]?.ip_addresses?.[0]?.ip_address;
    });
    expect(addresses).toHaveLength(2);
    expect(new Set(addresses).size).toBe(2);
    for (const address of addresses) expect(address).toMatch(/^198\.18\.1\.\d+$/);
    const containers = (await (await first.get('/containers')).json()) as {
      container_id: string;
      status: { network_infos?: NetworkJson[] };
      statistics: { net_rx_packets?: number; net_tx_bytes?: number };
    }[];
    for (const container of containers) {
      expect(container.status.network_infos?.[0]?.ip_addresses?.[0]?.ip_address).toMatch(
        /^198\.18\.1\./,
      );
      expect(container.statistics.net_tx_bytes).toBeGreaterThanOrEqual(0);
    }

    // The agent dies; the containers keep their network; the next agent destroys them cleanly.
    await first.stop('SIGKILL');
    const second = await start();
    expect(
      runningTasks(await recoveredState(second))
        .map((task) => task.id)
        .sort(),
    ).toEqual(['a', 'b']);
    for (const id of ['a', 'b']) {
      await second.call({
        type: 'KILL_CONTAINER',
        kill_container: { container_id: { value: id } },
      });
      await second.call({
        type: 'WAIT_CONTAINER',
        wait_container: { container_id: { value: id } },
      });
    }
    expect(execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' })).toBe(
      '',
    );
    const leases = readdirSync(join(dir, 'ipam', 'green')).filter((file) => /^\d/.test(file));
    expect(leases).toEqual([]);
    expect(readdirSync(join(dir, 'work', 'isolators', 'network', 'cni'))).toEqual([]);
    expect(existsSync(join(dir, 'run', 'isolators', 'network', 'cni', 'etc', 'a'))).toBe(false);
    await second.stop('SIGTERM');
  });
});
