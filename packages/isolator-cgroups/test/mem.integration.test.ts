import { findV1Hierarchy, readControl } from '@corral/cgroupfs';
import { expect, it } from 'vitest';
import { describeWithWorld, shell } from './helpers.ts';

/** Touches 200 MB (perl builds the string byte by byte), far above a 64 MB limit. */
const ALLOCATE_200MB = `perl -e '$x = "a" x (200 * 1024 * 1024); print length $x'`;
const MB = 1024 * 1024;

describeWithWorld(
  'cgroups/mem on the real kernel',
  { cgroupSubsystems: ['memory'], commands: ['perl'] },
  (world) => {
    it('OOM-kills a container that allocates 200 MB under a 64 MB limit: TASK_FAILED, memory limitation', async () => {
      // A poll too slow to matter: the kill ends the container at once, and its cleanup finds it.
      const { containerizer, isolators, ended } = await world().start(['cgroups/mem'], {
        cgroups_mem_oom_poll_ms: '60000',
      });
      await containerizer.launch(
        { value: 'hog' },
        shell(world().sandbox('hog'), `exec ${ALLOCATE_200MB}`, { mem: 32 }, { mem: 64 }),
      );
      const termination = await ended('hog');
      console.info(`cgroups/mem OOM: ${JSON.stringify(termination)}`);
      expect(termination).toMatchObject({
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
        limited_resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }],
      });
      expect(termination.message).toMatch(
        /^Memory limit exceeded: the kernel's OOM killer killed 1 process\(es\) in the container; limit 64 MB, peak usage 6\d(\.\d)? MB/,
      );
      expect(world().leftovers()).toEqual([]);
      expect(isolators[0]?.isolator.metrics?.()).toEqual({ containers: 0, oom_limitations: 1 });
    });

    it('destroys a container whose child was OOM-killed while the container lives on', async () => {
      const { containerizer, ended } = await world().start(['cgroups/mem'], {
        cgroups_mem_oom_poll_ms: '20',
      });
      await containerizer.launch(
        { value: 'parent' },
        shell(world().sandbox('parent'), `${ALLOCATE_200MB}; exec sleep 300`, {}, { mem: 64 }),
      );
      const started = Date.now();
      const termination = await ended('parent');
      console.info(`cgroups/mem child OOM seen after ${Date.now() - started} ms`);
      expect(termination).toMatchObject({
        state: 'TASK_FAILED',
        reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      });
    });

    it('sets the limits Mesos sets and reports usage from the cgroup', async () => {
      const { containerizer } = await world().start(['cgroups/mem']);
      await containerizer.launch(
        { value: 'limited' },
        shell(world().sandbox('limited'), 'exec sleep 300', { mem: 48 }, { mem: 96 }),
      );
      await containerizer.launch(
        { value: 'defaulted' },
        shell(world().sandbox('defaulted'), 'exec sleep 300', { mem: 40 }),
      );
      await containerizer.launch(
        { value: 'unbounded' },
        shell(
          world().sandbox('unbounded'),
          'exec sleep 300',
          { mem: 40 },
          { mem: Number.POSITIVE_INFINITY },
        ),
      );
      const memory = findV1Hierarchy('memory') as string;
      const file = (name: string, control: string) =>
        Number(readControl(memory, world().cgroupOf(name), control));
      expect(file('limited', 'memory.limit_in_bytes')).toBe(96 * MB);
      expect(file('limited', 'memory.soft_limit_in_bytes')).toBe(48 * MB);
      // Without limits.mem the request is the hard limit too (Mesos).
      expect(file('defaulted', 'memory.limit_in_bytes')).toBe(40 * MB);
      expect(file('unbounded', 'memory.limit_in_bytes')).toBeGreaterThan(2 ** 60);

      const usage = await containerizer.usage({ value: 'limited' });
      expect(usage).toMatchObject({ mem_limit_bytes: 96 * MB, mem_soft_limit_bytes: 48 * MB });
      expect(usage.mem_total_bytes).toBeGreaterThan(0);
      expect(usage.mem_rss_bytes).toBeGreaterThan(0);
      const unbounded = await containerizer.usage({ value: 'unbounded' });
      expect(unbounded.mem_limit_bytes).toBe((await import('node:os')).totalmem());
    });
  },
);
