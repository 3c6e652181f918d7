import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type RunningAgent, recoveredState, runningTasks } from '../agent-process.ts';
import { launchCall, Scenario } from './harness.ts';

/*
 * The crash-at-every-step proof for network/cni: the agent is SIGKILLed at each launch and destroy
 * step of a networked container, restarted, and nothing of the network is left but what running
 * containers hold. The suite runs in network and mount namespaces of its own
 * (scripts/in-own-network.sh), so the bridge and its addresses exist only there.
 */
let scenario: Scenario;

beforeEach(() => {
  scenario = new Scenario([], { isolation: 'cgroups/net_cls,network/cni,posix/cpu' });
  const netD = join(scenario.root, 'net.d');
  mkdirSync(netD);
  writeFileSync(
    join(netD, 'crash.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'crash',
      plugins: [
        {
          type: 'bridge',
          bridge: 'corral-crash',
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '198.18.2.0/24' }]],
            dataDir: join(scenario.root, 'ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );
  scenario.extraFlags.push(
    `--network_cni_config_dir=${netD}`,
    '--network_cni_plugins_dir=/usr/lib/cni',
  );
});

afterEach(async () => {
  await scenario.cleanup();
  execFileSync('sh', ['-c', 'ip link del corral-crash 2>/dev/null || true']);
});

const networked = (value: string) =>
  launchCall(value, 'exec sleep 300', {
    container: {
      type: 'MESOS',
      network_infos: [{ name: 'crash', port_mappings: [{ host_port: 19000, container_port: 80 }] }],
    },
  });

async function attempt(call: () => Promise<Response>): Promise<number | 'agent died'> {
  try {
    return (await call()).status;
  } catch {
    return 'agent died';
  }
}

/** Network state beyond what the running containers hold: veths, leases, DNAT chains, checkpoints. */
async function networkLeftovers(agent: RunningAgent): Promise<string[]> {
  const running = runningTasks(await recoveredState(agent)).length;
  const veths = execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const ipam = join(scenario.root, 'ipam', 'crash');
  const leases = existsSync(ipam) ? readdirSync(ipam).filter((file) => /^\d/.test(file)) : [];
  const rules = execFileSync('iptables-save', { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.startsWith(':CNI-DN-')); // portmap's chain of one container
  const persisted = join(scenario.workDir, 'isolators', 'network', 'cni');
  const checkpoints = existsSync(persisted) ? readdirSync(persisted) : [];
  const problems: string[] = [];
  for (const [what, found] of [
    ['veths', veths.length],
    ['leases', leases.length],
    ['DNAT chains', rules.length],
    ['checkpointed containers', checkpoints.length],
  ] as const) {
    if (found !== running) problems.push(`${what}: ${found} for ${running} running containers`);
  }
  return problems;
}

describeOnKernel(
  'crash of the agent at every step of a networked container',
  { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'], commands: ['iptables-save'] },
  () => {
    it.each(['prepared', 'forked', 'isolated'])(
      'SIGKILL at launch step %s: after restart nothing of its network is left',
      async (step) => {
        const crashing = await scenario.start({ CORRAL_TEST_CRASH_AT: step });
        expect(await attempt(() => crashing.call(networked('victim')))).toBe('agent died');
        const agent = await scenario.start();
        await expect.poll(async () => scenario.invariants(agent), { timeout: 10_000 }).toEqual([]);
        expect(await networkLeftovers(agent)).toEqual([]);
        // The host port is free again.
        expect((await agent.call(networked('again'))).status).toBe(200);
        expect(await networkLeftovers(agent)).toEqual([]);
      },
    );

    it('SIGKILL right after release: the container is recovered with its network', async () => {
      const crashing = await scenario.start({ CORRAL_TEST_CRASH_AT: 'released' });
      expect(await attempt(() => crashing.call(networked('started')))).toBe('agent died');
      const agent = await scenario.start();
      expect(runningTasks(await recoveredState(agent)).map((task) => task.id)).toEqual(['started']);
      expect(await networkLeftovers(agent)).toEqual([]);
      // Its host port stays taken across the restart.
      const clash = await agent.call(networked('clash'));
      expect(clash.status).toBe(400);
      expect(await clash.text()).toMatch(
        /host port 19000\/tcp is already forwarded to container 'started'/,
      );
    });

    it.each(['killed', 'cleaning:network/cni'])(
      'SIGKILL at destroy step %s: after restart the network is released',
      async (step) => {
        const crashing = await scenario.start({ CORRAL_TEST_CRASH_AT: step });
        expect((await crashing.call(networked('doomed'))).status).toBe(200);
        await attempt(() =>
          crashing.call({
            type: 'KILL_CONTAINER',
            kill_container: { container_id: { value: 'doomed' } },
          }),
        );
        await expect
          .poll(() => crashing.child.exitCode !== null || crashing.child.signalCode !== null)
          .toBe(true);
        const agent = await scenario.start();
        await expect.poll(async () => scenario.invariants(agent), { timeout: 10_000 }).toEqual([]);
        expect(await networkLeftovers(agent)).toEqual([]);
      },
    );
  },
);
