import { execFileSync } from 'node:child_process';
import { describeOnKernel } from '@corral/test-support/kernel';
import { expect, it } from 'vitest';
import { egressTable } from '../src/index.ts';
import {
  crashingAgent,
  DONE_THEN_IDLE,
  nftState,
  udpSender,
  useEgressWorld,
} from './egress-helpers.ts';

// A primary and a 198.18.3.0/29 slot no other test file uses.
const PRIMARY = 0x7a3;
const SLOT = 2;
const TABLE = egressTable(PRIMARY);

describeOnKernel(
  'cgroups/net_cls egress across agent crashes and firewall reloads',
  { root: true, cgroupSubsystems: ['net_cls'], commands: ['nft', 'tc', 'ip', 'bash', 'unshare'] },
  () => {
    const current = useEgressWorld(SLOT, PRIMARY);

    it('after a SIGKILL keeps classes, elements and counts of running containers and removes the rest', async () => {
      const { world, link } = current;
      const flags = {
        cgroups_net_cls_primary_handle: `0x${PRIMARY.toString(16)}`,
        cgroups_net_cls_egress_accounting: 'true',
        cgroups_net_cls_egress_interfaces: link.dev,
      };
      const before = await crashingAgent(
        world,
        flags,
        { limited: udpSender(link.remote, 100, 500), free: DONE_THEN_IDLE },
        { limited: 10_000_000 },
      );
      expect(before.limited).toMatchObject({ net_tx_bytes: 100 * 528, net_tx_packets: 100 });
      // What a crash in the middle of a cleanup leaves: a class and an element nobody owns.
      execFileSync('tc', [
        'class',
        'add',
        'dev',
        link.dev,
        'parent',
        '7a3:',
        'classid',
        '7a3:ff',
        'htb',
        'rate',
        '1mbit',
      ]);
      execFileSync('nft', ['add', 'element', 'inet', TABLE, 'acct', '{ 0x07a300ff }']);

      const { containerizer } = await world.start(flags);
      await containerizer.recover();
      const classid = String(
        (await containerizer.status({ value: 'limited' })).cgroup_info?.net_cls?.classid,
      );
      expect([...link.classes(PRIMARY).keys()]).toEqual([Number(classid) & 0xffff]);
      expect(nftState(TABLE)).toMatchObject({ counted: [classid], shaped: [classid] });
      expect(await containerizer.usage({ value: 'limited' })).toMatchObject({
        net_tx_bytes: 100 * 528,
        net_tx_packets: 100,
        net_tx_rate_limit: 10_000_000 / 8,
      });

      // A firewall reload wipes the table: the next read puts it back, counts never go down.
      execFileSync('nft', ['delete', 'table', 'inet', TABLE]);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await containerizer.usage({ value: 'limited' })).toMatchObject({
        net_tx_bytes: 100 * 528,
        net_tx_packets: 100,
      });
      expect(nftState(TABLE)).toMatchObject({ exists: true, shaped: [classid] });
    });

    it('removes what an earlier run installed once shaping, then all egress, is turned off', async () => {
      const { world, link } = current;
      const flags = {
        cgroups_net_cls_primary_handle: `0x${PRIMARY.toString(16)}`,
        cgroups_net_cls_secondary_handles: '0x40,0x4f',
        cgroups_net_cls_egress_accounting: 'true',
      };
      await crashingAgent(
        world,
        { ...flags, cgroups_net_cls_egress_interfaces: link.dev },
        { limited: udpSender(link.remote, 10, 100) },
        { limited: 10_000_000 },
      );
      expect(link.rootQdisc()).toContain('htb');

      // Accounting only: the limit is dropped with a warning, the counts stay.
      const counting = await world.start(flags);
      await counting.containerizer.recover();
      expect(link.rootQdisc()).not.toContain('htb');
      expect(await counting.containerizer.usage({ value: 'limited' })).toEqual(
        expect.objectContaining({ net_tx_bytes: 10 * 128, net_tx_packets: 10 }),
      );
      expect(world.log.some((line) => line.message.includes('egress limit of a recovered'))).toBe(
        true,
      );

      // No egress at all: the table goes too; the container runs on.
      const off = await world.start({
        cgroups_net_cls_primary_handle: flags.cgroups_net_cls_primary_handle,
        cgroups_net_cls_secondary_handles: '0x40,0x4f',
      });
      expect((await off.containerizer.recover()).recovered.map((id) => id.value)).toEqual([
        'limited',
      ]);
      expect(nftState(TABLE).exists).toBe(false);
    });
  },
);
