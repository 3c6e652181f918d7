import { createCgroup, destroyCgroup, writeControl } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { NetClsHandleConflictError } from '../src/index.ts';
import { sleeper, World } from './helpers.ts';

// Primaries no other test file uses, so concurrent files never share a classid.
const OLD = { cgroups_net_cls_primary_handle: '0x1a' };
const NEW = { cgroups_net_cls_primary_handle: '0x1b' };

describeOnKernel(
  'cgroups/net_cls across an agent restart',
  { root: true, cgroupSubsystems: ['net_cls'] },
  () => {
    let world: World;

    beforeEach(() => {
      world = new World();
    });

    afterEach(async () => {
      expect(await world.dispose()).toEqual([]);
    });

    it('keeps every classid with the same flags, reserves them, and removes orphan cgroups', async () => {
      const before = await world.launchDetached(OLD, ['a', 'b', 'c']);
      expect(before).toEqual({ a: 0x1a0001, b: 0x1a0002, c: 0x1a0003 });
      const hierarchy = await world.netClsHierarchy();
      createCgroup(hierarchy, world.cgroupOf('stray'));

      const { containerizer, isolator } = await world.start(OLD);
      const { recovered, orphans } = await containerizer.recover();
      expect(recovered.map((id) => id.value).sort()).toEqual(['a', 'b', 'c']);
      expect(orphans).toEqual([]);
      for (const [value, classid] of Object.entries(before)) {
        expect((await containerizer.status({ value })).cgroup_info?.net_cls?.classid).toBe(classid);
        expect(await world.classidFile(value)).toBe(classid);
      }
      expect(await world.netClsCgroupExists('stray')).toBe(false);
      expect(isolator.metrics?.()).toEqual({
        handles_in_use: 3,
        handles_free: 0xffff - 3,
        handles_foreign: 0,
      });

      // The recovered handles are taken: a new container gets the next one.
      await containerizer.launch({ value: 'd' }, sleeper(world.sandbox('d')));
      expect((await containerizer.status({ value: 'd' })).cgroup_info?.net_cls?.classid).toBe(
        0x1a0004,
      );
      // A recovered container's exit frees its handle and removes its cgroup.
      await containerizer.destroy({ value: 'b' });
      expect(await world.netClsCgroupExists('b')).toBe(false);
      expect(isolator.metrics?.()).toMatchObject({ handles_in_use: 3 });
    });

    it('with another primary, keeps old classids as foreign and gives new containers the new primary', async () => {
      const before = await world.launchDetached(OLD, ['a', 'b']);
      expect(before).toEqual({ a: 0x1a0001, b: 0x1a0002 });

      const { containerizer, isolator } = await world.start(NEW);
      await containerizer.recover();
      expect((await containerizer.status({ value: 'a' })).cgroup_info?.net_cls?.classid).toBe(
        0x1a0001,
      );
      expect((await containerizer.status({ value: 'b' })).cgroup_info?.net_cls?.classid).toBe(
        0x1a0002,
      );
      expect(isolator.metrics?.()).toEqual({
        handles_in_use: 0,
        handles_free: 0xffff,
        handles_foreign: 2,
      });
      const warnings = world.log.filter((line) => line.level === 'warn');
      expect(warnings.map((line) => line.fields?.container).sort()).toEqual(['a', 'b']);
      expect(warnings[0]?.message).toContain('foreign net_cls handle');

      await containerizer.launch({ value: 'c' }, sleeper(world.sandbox('c')));
      expect((await containerizer.status({ value: 'c' })).cgroup_info?.net_cls?.classid).toBe(
        0x1b0001,
      );
      expect(await world.classidFile('c')).toBe(0x1b0001);

      await containerizer.destroy({ value: 'a' });
      expect(await world.netClsCgroupExists('a')).toBe(false);
      expect(isolator.metrics?.()).toEqual({
        handles_in_use: 1,
        handles_free: 0xffff - 1,
        handles_foreign: 1,
      });
    });

    it('refuses to recover two running containers holding one classid, naming both', async () => {
      const before = await world.launchDetached(OLD, ['a', 'b']);
      const hierarchy = await world.netClsHierarchy();
      writeControl(hierarchy, world.cgroupOf('b'), 'net_cls.classid', String(before.a));

      const { containerizer } = await world.start(OLD);
      const error = await containerizer.recover().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NetClsHandleConflictError);
      expect((error as Error).message).toMatch(
        /^Containers 'a' and 'b' both hold net_cls handle 0x001a0001 \(primary 0x1a, secondary 0x1\)/,
      );
      // Refused recovery changed nothing: the cgroups are still there for the operator to inspect.
      expect(await world.netClsCgroupExists('a')).toBe(true);
      expect(await world.netClsCgroupExists('b')).toBe(true);
      await destroyCgroup(hierarchy, world.cgroupOf('a'));
      await destroyCgroup(hierarchy, world.cgroupOf('b'));
    });
  },
);
