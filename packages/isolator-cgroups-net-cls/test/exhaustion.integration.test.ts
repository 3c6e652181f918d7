import { readFileSync } from 'node:fs';
import { cgroupExists } from '@corral/cgroupfs';
import { ResourceExhaustedError } from '@corral/core';
import { createLauncher, LinuxLauncher } from '@corral/launcher';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sleeper, World } from './helpers.ts';

// A primary no other test file uses, so concurrent files never share a classid.
const FLAGS = { cgroups_net_cls_primary_handle: '0x1c', cgroups_net_cls_secondary_handles: '1,3' };

describeOnKernel(
  'cgroups/net_cls when handles run out',
  { root: true, cgroupSubsystems: ['net_cls'] },
  () => {
    let world: World;

    beforeEach(() => {
      world = new World();
    });

    afterEach(async () => {
      expect(await world.dispose()).toEqual([]);
    });

    it('fails the 4th concurrent launch of 1,3 cleanly, and launches again once one exits', async () => {
      const { containerizer, isolator, ended } = await world.start(FLAGS);
      for (const value of ['a', 'b', 'c']) {
        await containerizer.launch({ value }, sleeper(world.sandbox(value)));
      }

      const error = await containerizer
        .launch({ value: 'd' }, sleeper(world.sandbox('d')))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ResourceExhaustedError);
      expect((error as Error).message).toBe(
        "Cannot launch container 'd': No free net_cls handles remain for primary handle 0x1c: " +
          'all 3 secondary handles 0x1..0x3 are in use',
      );
      // Nothing left of 'd': no net_cls cgroup, no tracking cgroup, not known to the engine.
      expect(await world.netClsCgroupExists('d')).toBe(false);
      const launcher = createLauncher({ kind: 'linux', cgroupsRoot: world.root });
      if (launcher instanceof LinuxLauncher) {
        expect(cgroupExists(await launcher.hierarchy(), world.cgroupOf('d'))).toBe(false);
      }
      expect(containerizer.snapshot({ value: 'd' })).toBeUndefined();

      // The running ones are unaffected.
      for (const [value, classid] of [
        ['a', 0x1c0001],
        ['b', 0x1c0002],
        ['c', 0x1c0003],
      ] as const) {
        expect(containerizer.snapshot({ value })?.state).toBe('RUNNING');
        expect((await containerizer.status({ value })).cgroup_info?.net_cls?.classid).toBe(classid);
        expect(await world.classidFile(value)).toBe(classid);
      }
      expect(isolator.metrics?.()).toEqual({
        handles_in_use: 3,
        handles_free: 0,
        handles_foreign: 0,
      });

      // One exits on its own (its command is killed): its handle comes back.
      const pid = containerizer.snapshot({ value: 'b' })?.pid ?? 0;
      const command = Number(
        readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0],
      );
      process.kill(command, 'SIGTERM');
      expect((await ended('b')).status).toBe(15);
      expect(isolator.metrics?.()).toMatchObject({ handles_in_use: 2, handles_free: 1 });

      expect(await containerizer.launch({ value: 'd' }, sleeper(world.sandbox('d')))).toBe(
        'launched',
      );
      expect((await containerizer.status({ value: 'd' })).cgroup_info?.net_cls?.classid).toBe(
        0x1c0002,
      );
    });
  },
);
