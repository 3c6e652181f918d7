import type { ChildProcess } from 'node:child_process';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  assignProcess,
  assignProcessAsync,
  cgroupExists,
  createCgroup,
  listChildCgroups,
  listProcesses,
  processCgroups,
  readControl,
  removeCgroup,
  writeControl,
} from '../src/cgroup.ts';
import { destroyCgroup } from '../src/destroy.ts';
import { CgroupError } from '../src/errors.ts';
import { findCgroup2Mount, findV1Hierarchy } from '../src/mounts.ts';
import { prepareV1Hierarchy } from '../src/v1/hierarchy.ts';
import { type HierarchyLease, leaseHierarchy } from './hierarchy-lease.ts';
import { killGroup, spawnInCgroup, uniqueRoot, waitFor } from './support.ts';

describeOnKernel(
  'cgroup operations on the real kernel',
  {
    root: true,
    cgroupSubsystems: ['net_cls', 'net_prio', 'freezer', 'cpuset'],
    cgroup2: true,
    commands: ['mount', 'umount', 'flock'],
  },
  () => {
    let netCls: HierarchyLease | undefined;
    const made: { hierarchy: string; cgroup: string }[] = [];
    const children: ChildProcess[] = [];

    beforeAll(async () => {
      netCls = await leaseHierarchy((base) => prepareV1Hierarchy(base, 'net_cls'));
    });
    afterAll(async () => {
      await netCls?.release();
    });
    afterEach(async () => {
      for (const child of children.splice(0)) killGroup(child);
      for (const { hierarchy, cgroup } of made.splice(0)) {
        await destroyCgroup(hierarchy, cgroup, { timeoutMs: 10_000 });
      }
    });

    /** A fresh cgroup root in `hierarchy`, destroyed after the test whatever happens. */
    function testRoot(hierarchy: string): string {
      const root = uniqueRoot();
      made.push({ hierarchy, cgroup: root });
      return root;
    }

    const hierarchies: [
      string,
      () => string,
      (line: { controllers: readonly string[] }) => boolean,
    ][] = [
      [
        'net_cls (mounted or found)',
        () => netCls?.hierarchy ?? '',
        (l) => l.controllers.includes('net_cls'),
      ],
      [
        'the v1 freezer',
        () => findV1Hierarchy('freezer') ?? '',
        (l) => l.controllers.includes('freezer'),
      ],
      ['v1 cpuset', () => findV1Hierarchy('cpuset') ?? '', (l) => l.controllers.includes('cpuset')],
      ['cgroup v2', () => findCgroup2Mount() ?? '', (l) => l.controllers.length === 0],
    ];

    describe.each(hierarchies)('in %s', (_, hierarchyOf, isLine) => {
      it('moves a real process into a new nested cgroup, as cgroup.procs and /proc/<pid>/cgroup report', async () => {
        const hierarchy = hierarchyOf();
        expect(hierarchy).toMatch(/^\//);
        const cgroup = `${testRoot(hierarchy)}/job/nested`;
        createCgroup(hierarchy, cgroup);
        expect(cgroupExists(hierarchy, cgroup)).toBe(true);
        expect(readControl(hierarchy, cgroup, 'cgroup.procs')).toBe('');

        const sleeper = await spawnInCgroup(hierarchy, cgroup, 'exec sleep 1000');
        children.push(sleeper);
        const pid = sleeper.pid ?? 0;
        expect(listProcesses(hierarchy, cgroup)).toEqual([pid]);
        const line = processCgroups(pid).find(isLine);
        expect(line?.path).toBe(`/${cgroup}`);

        // Moving it back to the root empties the cgroup, which then rmdirs cleanly.
        assignProcess(hierarchy, '', pid);
        expect(listProcesses(hierarchy, cgroup)).toEqual([]);
        expect(processCgroups(pid).find(isLine)?.path).toBe('/');
        // The threadpool variant moves it as well, and reports a pid the kernel refuses.
        await assignProcessAsync(hierarchy, cgroup, pid);
        expect(listProcesses(hierarchy, cgroup)).toEqual([pid]);
        await expect(assignProcessAsync(hierarchy, cgroup, 4_000_000)).rejects.toMatchObject({
          operation: 'write',
          errno: 'ESRCH',
        });
        sleeper.kill('SIGKILL');
      });
    });

    it('lists the cgroups the kernel holds, and rmdir is refused while a process is inside', async () => {
      const hierarchy = findCgroup2Mount() ?? '';
      const root = testRoot(hierarchy);
      for (const cgroup of [`${root}/b/y`, `${root}/a`, `${root}/b/x`])
        createCgroup(hierarchy, cgroup);
      expect(listChildCgroups(hierarchy, root)).toEqual([`${root}/a`, `${root}/b`]);
      expect(listChildCgroups(hierarchy, root, { recursive: true, bottomUp: true })).toEqual([
        `${root}/a`,
        `${root}/b/x`,
        `${root}/b/y`,
        `${root}/b`,
      ]);

      const sleeper = await spawnInCgroup(hierarchy, `${root}/a`, 'exec sleep 1000');
      children.push(sleeper);
      expect(() => removeCgroup(hierarchy, `${root}/a`)).toThrow(CgroupError);
      expect(() => removeCgroup(hierarchy, `${root}/a`)).toThrow(
        expect.objectContaining({ operation: 'rmdir', errno: 'EBUSY' }),
      );
      sleeper.kill('SIGKILL');
      await waitFor(
        'the sleeper to leave the cgroup',
        () => listProcesses(hierarchy, `${root}/a`).length === 0,
      );
      removeCgroup(hierarchy, `${root}/a`);
      expect(cgroupExists(hierarchy, `${root}/a`)).toBe(false);
      removeCgroup(hierarchy, `${root}/a`);
    });

    it('writes and reads back net_cls.classid; the kernel refuses a bad value with EINVAL', () => {
      const hierarchy = netCls?.hierarchy ?? '';
      const cgroup = testRoot(hierarchy);
      createCgroup(hierarchy, cgroup);
      writeControl(hierarchy, cgroup, 'net_cls.classid', '0x100001');
      expect(readControl(hierarchy, cgroup, 'net_cls.classid')).toBe(`${0x100001}\n`);
      expect(() => writeControl(hierarchy, cgroup, 'net_cls.classid', 'nope')).toThrow(
        expect.objectContaining({ operation: 'write', errno: 'EINVAL' }),
      );
    });

    it('gives every new v1 cpuset level its parent cpus and mems, so processes can join', () => {
      const hierarchy = findV1Hierarchy('cpuset') ?? '';
      const cgroup = `${testRoot(hierarchy)}/a/b`;
      createCgroup(hierarchy, cgroup);
      expect(readControl(hierarchy, cgroup, 'cpuset.cpus')).toBe(
        readControl(hierarchy, '', 'cpuset.cpus'),
      );
      expect(readControl(hierarchy, cgroup, 'cpuset.mems')).toBe(
        readControl(hierarchy, '', 'cpuset.mems'),
      );
    });
  },
);
