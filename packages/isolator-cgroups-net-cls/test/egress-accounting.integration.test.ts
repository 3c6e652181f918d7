import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { expect, it } from 'vitest';
import { egressTable } from '../src/index.ts';
import {
  crashingAgent,
  DONE_THEN_IDLE,
  nftState,
  udpSender,
  udpSends,
  useEgressWorld,
  waitForFile,
} from './egress-helpers.ts';
import { bashScript, sendFromHost } from './helpers.ts';

// A primary and a 198.18.3.0/29 slot no other test file uses.
const PRIMARY = 0x7a1;
const SLOT = 0;
const TABLE = egressTable(PRIMARY);
const FLAGS = {
  cgroups_net_cls_primary_handle: `0x${PRIMARY.toString(16)}`,
  cgroups_net_cls_egress_accounting: 'true',
};
const COUNT = 400;
const PAYLOAD = 1000;
// IPv4 (20) + UDP (8) headers: nft counts at L3.
const BYTES = COUNT * (PAYLOAD + 28);

describeOnKernel(
  'cgroups/net_cls egress accounting',
  { root: true, cgroupSubsystems: ['net_cls'], commands: ['nft', 'tc', 'ip', 'bash', 'unshare'] },
  () => {
    const current = useEgressWorld(SLOT, PRIMARY);

    it('counts N × (payload + 28) bytes and N packets exactly, and nothing for a quiet container', async () => {
      const { world, link } = current;
      const { containerizer } = await world.start({
        ...FLAGS,
        cgroups_net_cls_secondary_handles: '0x10,0x1f',
      });
      // Loopback, the host's own address included, is never counted.
      const quiet = `${udpSends('127.0.0.1', 50, PAYLOAD)}; ${udpSends(link.local, 50, PAYLOAD)}`;
      await containerizer.launch(
        { value: 'quiet' },
        bashScript(world.sandbox('quiet'), `${quiet}; ${DONE_THEN_IDLE}`),
      );
      await containerizer.launch(
        { value: 'sender' },
        bashScript(world.sandbox('sender'), udpSender(link.remote, COUNT, PAYLOAD)),
      );
      // The host's own packets (classid 0) are not any container's.
      await sendFromHost(link.remote, 9, 50, Buffer.alloc(PAYLOAD));
      await waitForFile(join(world.sandbox('sender'), 'done'));
      await waitForFile(join(world.sandbox('quiet'), 'done'));

      const sender = await containerizer.usage({ value: 'sender' });
      expect({ bytes: sender.net_tx_bytes, packets: sender.net_tx_packets }).toEqual({
        bytes: BYTES,
        packets: COUNT,
      });
      const idle = await containerizer.usage({ value: 'quiet' });
      expect({ bytes: idle.net_tx_bytes, packets: idle.net_tx_packets }).toEqual({
        bytes: 0,
        packets: 0,
      });
      const classid = (await containerizer.status({ value: 'sender' })).cgroup_info?.net_cls
        ?.classid;
      expect(nftState(TABLE).counted).toEqual([String(classid)]);
      console.log(`egress accounting: ${COUNT} datagrams, ${sender.net_tx_bytes} bytes counted`);

      await containerizer.destroy({ value: 'sender' });
      expect(nftState(TABLE).counted).toEqual([]);
    });

    it('keeps every count across a SIGKILL of the agent and its restart', async () => {
      const { world, link } = current;
      const flags = { ...FLAGS, cgroups_net_cls_secondary_handles: '0x20,0x2f' };
      const before = await crashingAgent(world, flags, {
        a: udpSender(link.remote, COUNT, PAYLOAD),
        b: DONE_THEN_IDLE,
      });
      expect(before.a).toMatchObject({ net_tx_bytes: BYTES, net_tx_packets: COUNT });
      expect(before.b).toMatchObject({ net_tx_bytes: 0, net_tx_packets: 0 });

      const { containerizer } = await world.start(flags);
      const { recovered } = await containerizer.recover();
      expect(recovered.map((id) => id.value).sort()).toEqual(['a', 'b']);
      expect(await containerizer.usage({ value: 'a' })).toMatchObject({
        net_tx_bytes: BYTES,
        net_tx_packets: COUNT,
      });
      expect(await containerizer.usage({ value: 'b' })).toMatchObject({
        net_tx_bytes: 0,
        net_tx_packets: 0,
      });
    });
  },
);
