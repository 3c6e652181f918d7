import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { egressTable, teardownEgress } from '../src/index.ts';
import {
  crashingAgent,
  DONE_THEN_IDLE,
  deleteTable,
  nftState,
  TestLink,
  udpSender,
  udpSends,
  waitForFile,
} from './egress-helpers.ts';
import { bashScript, World } from './helpers.ts';

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

function sendFromTheHost(host: string, count: number): Promise<void> {
  const socket = createSocket('udp4');
  const sends = Array.from(
    { length: count },
    () =>
      new Promise<void>((resolve, reject) =>
        socket.send(Buffer.alloc(PAYLOAD), 9, host, (error) => (error ? reject(error) : resolve())),
      ),
  );
  return Promise.all(sends).then(() => {
    socket.close();
  });
}

describeOnKernel(
  'cgroups/net_cls egress accounting',
  { root: true, cgroupSubsystems: ['net_cls'], commands: ['nft', 'tc', 'ip', 'bash', 'unshare'] },
  () => {
    let world: World;
    let link: TestLink;

    beforeEach(() => {
      world = new World();
      link = new TestLink(SLOT);
    });

    afterEach(async () => {
      let left: string[] = [];
      try {
        // Destroying the containers removes their elements; the table goes with the teardown.
        await world.destroyContainers();
        expect(nftState(TABLE).counted).toEqual([]);
        await teardownEgress(join(world.runtimeDir, 'egress.json'));
        expect(nftState(TABLE).exists).toBe(false);
      } finally {
        left = await world.dispose();
        deleteTable(TABLE);
        link?.delete();
      }
      expect(left).toEqual([]);
    });

    it('counts N × (payload + 28) bytes and N packets exactly, and nothing for a quiet container', async () => {
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
      await sendFromTheHost(link.remote, 50);
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
