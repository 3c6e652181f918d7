import { listProcesses, writeControl } from '@corral/cgroupfs';
import type { Containerizer } from '@corral/containerizer';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  bashScript,
  NftCounters,
  netClsCgroupOf,
  sendFromHost,
  sleeper,
  World,
} from './helpers.ts';

const PRIMARY = 0x19;
// Secondaries no other test file uses, so concurrent files never share a classid.
const MANAGED = {
  cgroups_net_cls_primary_handle: '0x19',
  cgroups_net_cls_secondary_handles: '0x100,0x1ff',
};

async function classidOf(containerizer: Containerizer, value: string): Promise<number | undefined> {
  return (await containerizer.status({ value })).cgroup_info?.net_cls?.classid;
}

describeOnKernel(
  'cgroups/net_cls tags packets of real containers',
  { root: true, cgroupSubsystems: ['net_cls'], commands: ['nft', 'bash'] },
  () => {
    let world: World;
    let nft: NftCounters | undefined;

    beforeEach(() => {
      world = new World();
    });

    afterEach(async () => {
      nft?.delete();
      nft = undefined;
      expect(await world.dispose()).toEqual([]);
    });

    it('gives each container a distinct 0x0019xxxx classid in net_cls.classid and in its status', async () => {
      const { containerizer, isolator } = await world.start(MANAGED);
      const names = ['one', 'two', 'three'];
      for (const name of names) {
        expect(await containerizer.launch({ value: name }, sleeper(world.sandbox(name)))).toBe(
          'launched',
        );
      }
      const hierarchy = await world.netClsHierarchy();
      const classids: number[] = [];
      for (const name of names) {
        const inFile = await world.classidFile(name);
        expect(inFile >>> 16).toBe(PRIMARY);
        expect(await classidOf(containerizer, name)).toBe(inFile);
        classids.push(inFile);
        // The init (and so its command) is in the cgroup.
        const pid = containerizer.snapshot({ value: name })?.pid ?? 0;
        expect(listProcesses(hierarchy, world.cgroupOf(name))).toContain(pid);
        expect(netClsCgroupOf(pid)).toBe(`/${world.cgroupOf(name)}`);
      }
      expect(classids).toEqual([0x190100, 0x190101, 0x190102]);
      expect(isolator.metrics?.()).toEqual({
        handles_in_use: 3,
        handles_free: 253,
        handles_foreign: 0,
      });

      await containerizer.destroy({ value: 'two' });
      expect(await world.netClsCgroupExists('two')).toBe(false);
      expect(isolator.metrics?.()).toMatchObject({ handles_in_use: 2 });
      // Next-fit: the freed 0x190101 is not reused while others are free.
      await containerizer.launch({ value: 'four' }, sleeper(world.sandbox('four')));
      expect(await classidOf(containerizer, 'four')).toBe(0x190103);
    });

    it("counts a container's packets by its classid in nftables, and no one else's", async () => {
      const { containerizer, ended } = await world.start(MANAGED);
      const port = 20_000 + Math.floor(Math.random() * 40_000);
      // Both classids are known before launch: the first two secondaries of the range.
      const [first, second] = [0x190100, 0x190101];
      nft = new NftCounters({
        first: `meta cgroup ${first}`,
        second: `meta cgroup ${second}`,
        all: `ip daddr 127.0.0.1 udp dport ${port}`,
      });
      const send = (count: number) =>
        `for i in $(seq ${count}); do echo x > /dev/udp/127.0.0.1/${port}; done`;

      await sendFromHost('127.0.0.1', port, 4);
      await containerizer.launch({ value: 'first' }, bashScript(world.sandbox('first'), send(5)));
      await containerizer.launch({ value: 'second' }, bashScript(world.sandbox('second'), send(3)));
      const [endFirst, endSecond] = await Promise.all([ended('first'), ended('second')]);
      expect(endFirst?.status).toBe(0);
      expect(endSecond?.status).toBe(0);
      await sendFromHost('127.0.0.1', port, 2);

      expect(nft.packets()).toEqual({ first: 5, second: 3, all: 4 + 5 + 3 + 2 });
    });

    it('tags the very first packet: the classid is set before the command runs', async () => {
      const { containerizer, ended } = await world.start(MANAGED);
      const port = 20_000 + Math.floor(Math.random() * 40_000);
      nft = new NftCounters({ tagged: 'meta cgroup 0x190100', all: `udp dport ${port}` });
      await containerizer.launch(
        { value: 'quick' },
        bashScript(world.sandbox('quick'), `echo x > /dev/udp/127.0.0.1/${port}`),
      );
      expect((await ended('quick')).status).toBe(0);
      expect(nft.packets()).toEqual({ tagged: 1, all: 1 });
    });

    it('in unmanaged mode creates the cgroup, writes no classid, and reports the operator one', async () => {
      const { containerizer, isolator } = await world.start({});
      await containerizer.launch({ value: 'plain' }, sleeper(world.sandbox('plain')));
      expect(await world.classidFile('plain')).toBe(0);
      expect((await containerizer.status({ value: 'plain' })).cgroup_info).toBeUndefined();
      expect(isolator.metrics?.()).toEqual({});

      writeControl(
        await world.netClsHierarchy(),
        world.cgroupOf('plain'),
        'net_cls.classid',
        '0x100001',
      );
      expect(await classidOf(containerizer, 'plain')).toBe(0x100001);
    });
  },
);
