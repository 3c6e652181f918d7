import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LaunchRequest } from '@corral/containerizer';
import { InvalidContainerConfigError, InvalidFlagError } from '@corral/core';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { EgressInterfaceError, egressTable } from '../src/index.ts';
import { nftState, useEgressWorld, waitForFile } from './egress-helpers.ts';
import { bashScript, sleeper } from './helpers.ts';

// A primary and a 198.18.3.0/29 slot no other test file uses.
const PRIMARY = 0x7a2;
const SLOT = 1;
const TABLE = egressTable(PRIMARY);
const LIMIT = 20_000_000;

/** TCP goodput at the receiver, in bit/s, from an `iperf3 -J` report. */
function goodput(file: string): number {
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    end: { sum_received: { bits_per_second: number } };
  };
  return report.end.sum_received.bits_per_second;
}

describeOnKernel(
  'cgroups/net_cls egress shaping',
  {
    root: true,
    cgroupSubsystems: ['net_cls'],
    commands: ['nft', 'tc', 'ip', 'bash', 'unshare', 'iperf3'],
  },
  () => {
    const current = useEgressWorld(SLOT, PRIMARY);
    const servers: ChildProcess[] = [];

    /** An iperf3 server for one test in the receiver's namespace. */
    function receiver(port: number): void {
      const server = spawn(
        'ip',
        ['netns', 'exec', current.link.netns, 'iperf3', '-s', '-p', String(port), '-1'],
        { stdio: 'ignore' },
      );
      servers.push(server);
    }

    /** `iperf3` to the receiver for `seconds` (after one omitted), its report in `<name>.json`. */
    const iperf = (port: number, seconds: number, name: string) =>
      `iperf3 -c ${current.link.remote} -p ${port} -t ${seconds} -O 1 -J > ${name}.json`;

    function flags(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
      return {
        cgroups_net_cls_primary_handle: `0x${PRIMARY.toString(16)}`,
        cgroups_net_cls_egress_accounting: 'true',
        cgroups_net_cls_egress_interfaces: current.link.dev,
        ...extra,
      };
    }

    afterEach(async () => {
      for (const server of servers.splice(0)) server.kill('SIGKILL');
    });

    it('holds a 20 Mbit/s container to its limit, leaves an unlimited one alone, and follows a change', async () => {
      const { world, link } = current;
      const { containerizer, isolator } = await world.start(
        flags({ cgroups_net_cls_secondary_handles: '0x1,0xf' }),
      );
      receiver(5301);
      receiver(5302);
      receiver(5303);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const limited: LaunchRequest = {
        ...bashScript(
          world.sandbox('limited'),
          `${iperf(5301, 4, 'first')}; echo ok > done; ` +
            `while [ ! -e go ]; do sleep 0.05; done; ${iperf(5303, 3, 'second')}; ` +
            'echo ok > done2; exec sleep 300',
        ),
        limits: { network_egress: { value: LIMIT } },
      };
      await containerizer.launch({ value: 'limited' }, limited);
      await containerizer.launch(
        { value: 'free' },
        bashScript(
          world.sandbox('free'),
          `${iperf(5302, 4, 'first')}; echo ok > done; exec sleep 300`,
        ),
      );
      await waitForFile(join(world.sandbox('limited'), 'done'), 20_000);
      await waitForFile(join(world.sandbox('free'), 'done'), 20_000);

      const shaped = goodput(join(world.sandbox('limited'), 'first.json'));
      const free = goodput(join(world.sandbox('free'), 'first.json'));
      console.log(
        `egress shaping: limited ${(shaped / 1e6).toFixed(2)} Mbit/s (${(shaped / LIMIT).toFixed(3)} of 20M), unlimited ${(free / 1e6).toFixed(0)} Mbit/s`,
      );
      expect(shaped / LIMIT).toBeGreaterThanOrEqual(0.85);
      expect(shaped / LIMIT).toBeLessThanOrEqual(1.0);
      expect(free).toBeGreaterThanOrEqual(5 * LIMIT);

      const classid = (await containerizer.status({ value: 'limited' })).cgroup_info?.net_cls
        ?.classid as number;
      const minor = classid & 0xffff;
      expect([...link.classes(PRIMARY).keys()]).toEqual([minor]);
      expect(nftState(TABLE).shaped).toEqual([String(classid)]);
      expect(await containerizer.usage({ value: 'limited' })).toMatchObject({
        net_tx_rate_limit: LIMIT / 8,
      });
      // The class carried the traffic (nft counts before the qdisc, so leaf drops are in it too).
      const usage = await containerizer.usage({ value: 'limited' });
      const sent = link.classes(PRIMARY).get(minor);
      console.log(
        `egress shaping: nft ${usage.net_tx_bytes} B, class ${sent?.bytes} B sent, ${sent?.dropped} dropped`,
      );
      expect(sent?.bytes).toBeGreaterThan(0.5 * (usage.net_tx_bytes ?? 0));

      await isolator.update?.({ value: 'limited' }, [], { network_egress: { value: 2 * LIMIT } });
      writeFileSync(join(world.sandbox('limited'), 'go'), '');
      await waitForFile(join(world.sandbox('limited'), 'done2'), 20_000);
      const changed = goodput(join(world.sandbox('limited'), 'second.json'));
      console.log(`egress shaping after update to 40M: ${(changed / 1e6).toFixed(2)} Mbit/s`);
      expect(changed / (2 * LIMIT)).toBeGreaterThanOrEqual(0.85);
      expect(changed / (2 * LIMIT)).toBeLessThanOrEqual(1.0);

      await containerizer.destroy({ value: 'limited' });
      expect([...link.classes(PRIMARY).keys()]).toEqual([]);
      expect(nftState(TABLE).shaped).toEqual([]);
    });

    it('refuses a rate of 0 or below 8 kbit/s, naming it, and leaves nothing behind', async () => {
      const { world, link } = current;
      const { containerizer, isolator } = await world.start(
        flags({ cgroups_net_cls_secondary_handles: '0x20,0x2f' }),
      );
      for (const value of [0, 100]) {
        const request = {
          ...sleeper(world.sandbox(`bad${value}`)),
          limits: { network_egress: { value } },
        };
        const launch = containerizer.launch({ value: `bad${value}` }, request);
        await expect(launch).rejects.toThrow(InvalidContainerConfigError);
        await expect(launch).rejects.toThrow(`'limits.network_egress' is invalid: ${value} is not`);
        expect(await world.netClsCgroupExists(`bad${value}`)).toBe(false);
      }
      expect(isolator.metrics?.()).toMatchObject({ handles_in_use: 0, egress_shaped: 0 });
      expect([...link.classes(PRIMARY).keys()]).toEqual([]);
    });

    it('refuses a limit for a container with networks of its own', async () => {
      const { world } = current;
      const { containerizer } = await world.start(
        flags({ cgroups_net_cls_secondary_handles: '0x30,0x3f' }),
      );
      const request = {
        ...sleeper(world.sandbox('cni')),
        container_info: { network_infos: [{ name: 'corral' }] },
        limits: { network_egress: { value: LIMIT } },
      };
      await expect(containerizer.launch({ value: 'cni' }, request)).rejects.toThrow(
        /joins networks of its own/,
      );
    });

    it('refuses a malformed default rate, a missing interface and a primary handle from 0x8000, naming each', async () => {
      const { world, link } = current;
      await expect(
        world.start(flags({ cgroups_net_cls_egress_rate_limit: '20Mbit' })),
      ).rejects.toThrow(/'20Mbit' is not a quantity like 20M/);
      await expect(world.start(flags({ cgroups_net_cls_egress_rate_limit: '0' }))).rejects.toThrow(
        /'0' is not an egress rate: a rate of 0/,
      );
      const missing = world.start(flags({ cgroups_net_cls_egress_interfaces: 'nosuch0' }));
      await expect(missing).rejects.toThrow(EgressInterfaceError);
      await expect(missing).rejects.toThrow(/'nosuch0': no such interface/);
      const high = world.start(flags({ cgroups_net_cls_primary_handle: '0x8001' }));
      await expect(high).rejects.toThrow(InvalidFlagError);
      await expect(high).rejects.toThrow(
        /Invalid value '0x8001' for flag --cgroups_net_cls_primary_handle/,
      );
      expect(link.rootQdisc()).not.toContain('htb');
      expect(existsSync(join(world.runtimeDir, 'egress.json'))).toBe(false);
    });
  },
);
