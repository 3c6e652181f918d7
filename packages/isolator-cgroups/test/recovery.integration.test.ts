import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupExists, createCgroup, findV1Hierarchy, readControl } from '@corral/cgroupfs';
import { expect, it } from 'vitest';
import { type CgroupIsolatorName, describeWithWorld, shell } from './helpers.ts';

const ALL: CgroupIsolatorName[] = ['cgroups/cpu', 'cgroups/mem', 'cgroups/pids'];
const FLAGS = { cgroups_pids_max: '50', cgroups_mem_oom_poll_ms: '20' };
/** Waits for a file named `go` in its sandbox, then allocates 200 MB in a child and lives on. */
const OOM_ON_GO = `while [ ! -e go ]; do sleep 0.02; done; perl -e '$x = "a" x (200 * 1024 * 1024)'; exec sleep 300`;

describeWithWorld(
  'cgroups/cpu, cgroups/mem, cgroups/pids across an agent restart',
  { cgroupSubsystems: ['cpu', 'cpuacct', 'memory', 'pids'], commands: ['perl'] },
  (world) => {
    it('keeps limits, continues usage and OOM watching, and removes orphan cgroups', async () => {
      await world().launchDetached(ALL, FLAGS, {
        steady: shell(
          world().sandbox('steady'),
          'exec sleep 300',
          { cpus: 0.25, mem: 32 },
          { cpus: 0.5, mem: 64 },
        ),
        hog: shell(world().sandbox('hog'), OOM_ON_GO, {}, { mem: 64 }),
      });
      const memory = findV1Hierarchy('memory') as string;
      const cpu = findV1Hierarchy('cpu') as string;
      createCgroup(memory, world().cgroupOf('stray'));
      createCgroup(cpu, world().cgroupOf('stray'));

      const { containerizer, ended } = await world().start(ALL, FLAGS);
      const { recovered } = await containerizer.recover();
      expect(recovered.map((id) => id.value).sort()).toEqual(['hog', 'steady']);
      expect(cgroupExists(memory, world().cgroupOf('stray'))).toBe(false);
      expect(cgroupExists(cpu, world().cgroupOf('stray'))).toBe(false);

      expect(readControl(cpu, world().cgroupOf('steady'), 'cpu.cfs_quota_us').trim()).toBe('50000');
      expect(await containerizer.usage({ value: 'steady' })).toMatchObject({
        cpus_limit: 0.5,
        cpus_soft_limit: 0.25,
        mem_limit_bytes: 64 * 1024 * 1024,
        mem_soft_limit_bytes: 32 * 1024 * 1024,
      });
      const usage = await containerizer.usage({ value: 'steady' });
      expect(usage.cpus_user_time_secs).toBeGreaterThanOrEqual(0);
      // The container's init and its sleep.
      expect(usage.threads).toBe(2);

      writeFileSync(join(world().sandbox('hog'), 'go'), '');
      expect(await ended('hog')).toMatchObject({
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      });
      await containerizer.destroy({ value: 'steady' });
      expect(world().leftovers()).toEqual([]);
    });
  },
);
