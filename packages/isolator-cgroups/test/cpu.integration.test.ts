import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import { findV1Hierarchy, readControl } from '@corral/cgroupfs';
import type { Containerizer } from '@corral/containerizer';
import type { ResourceStatistics } from '@corral/core';
import { expect, it, vi } from 'vitest';
import { describeWithWorld, shell } from './helpers.ts';

const BUSY = 'while :; do :; done';
/** Every busy loop pinned to CPU 0, so two containers contend for one core. */
const BUSY_ON_CPU0 = `exec taskset -c 0 sh -c '${BUSY}'`;
const WINDOW_MS = 2_000;

function cpuSeconds(stats: ResourceStatistics): number {
  return (stats.cpus_user_time_secs ?? 0) + (stats.cpus_system_time_secs ?? 0);
}

/** CPU seconds each container burns over `WINDOW_MS` of wall time, from the isolator's usage. */
async function burnedOverWindow(containerizer: Containerizer, ids: readonly string[]) {
  const before = await Promise.all(ids.map((value) => containerizer.usage({ value })));
  const started = performance.now();
  await delay(WINDOW_MS);
  const after = await Promise.all(ids.map((value) => containerizer.usage({ value })));
  const wall = (performance.now() - started) / 1000;
  return {
    wall,
    before,
    burned: ids.map((_, i) => cpuSeconds(after[i] ?? {}) - cpuSeconds(before[i] ?? {})),
    after,
  };
}

describeWithWorld(
  'cgroups/cpu on the real kernel',
  { cgroupSubsystems: ['cpu', 'cpuacct'], commands: ['taskset'] },
  (world) => {
    it('caps a busy loop at its CFS quota: 0.2 CPU burns ~0.4 s in 2 s, 1 CPU ~2 s', async () => {
      const { containerizer } = await world().start(['cgroups/cpu']);
      await containerizer.launch(
        { value: 'fifth' },
        shell(world().sandbox('fifth'), BUSY, { cpus: 0.1 }, { cpus: 0.2 }),
      );
      await containerizer.launch(
        { value: 'whole' },
        shell(world().sandbox('whole'), BUSY, { cpus: 1 }, { cpus: 1 }),
      );
      const cpu = findV1Hierarchy('cpu') as string;
      expect(readControl(cpu, world().cgroupOf('fifth'), 'cpu.cfs_quota_us').trim()).toBe('20000');
      expect(readControl(cpu, world().cgroupOf('fifth'), 'cpu.shares').trim()).toBe('102');

      // The caps are only exercised in a window where the machine lets the 0.2-CPU loop reach its
      // quota: under a fully loaded CI run it may get less than 20 ms a period. Look again, a
      // bounded number of times, until the kernel reports throttled periods.
      let window = await burnedOverWindow(containerizer, ['fifth', 'whole']);
      const throttledIn = (w: typeof window) =>
        (w.after[0]?.cpus_nr_throttled ?? 0) - (w.before[0]?.cpus_nr_throttled ?? 0);
      for (let attempt = 1; attempt < 5 && throttledIn(window) === 0; attempt++) {
        window = await burnedOverWindow(containerizer, ['fifth', 'whole']);
      }
      const { wall, burned, before, after } = window;
      const [fifth = 0, whole = 0] = burned;
      console.info(
        `cgroups/cpu quota: wall ${wall.toFixed(3)} s, 0.2 CPU burned ${fifth.toFixed(3)} s, 1 CPU burned ${whole.toFixed(3)} s`,
      );
      // Tolerances. The kernel enforces a quota per 100 ms period, so the caps hold whatever
      // else runs: at most quota × wall, + 0.1 s for cpuacct.stat's 10 ms ticks and for the usage
      // reads not being simultaneous. How much *less* a loop gets depends on the rest of this
      // shared 2-core machine (an unlimited loop measured 0.8 s of 2 s here under other
      // engineers' load), so the lower bounds use what the kernel itself reports: every
      // throttled period is one in which the container used its whole 20 ms quota; and the
      // 1-CPU container, five times the quota, must get clearly more than the 0.2-CPU one.
      // On an idle machine the figures are ~0.4 s and ~2 s.
      const throttled = (after[0]?.cpus_nr_throttled ?? 0) - (before[0]?.cpus_nr_throttled ?? 0);
      expect(throttled).toBeGreaterThan(0);
      expect(fifth).toBeLessThanOrEqual(0.2 * wall + 0.1);
      expect(fifth).toBeGreaterThanOrEqual(0.02 * throttled - 0.02);
      expect(whole).toBeLessThanOrEqual(wall + 0.1);
      expect(whole).toBeGreaterThan(2 * fifth);
      expect(after[0]).toMatchObject({ cpus_limit: 0.2, cpus_soft_limit: 0.1 });
      expect(after[0]?.cpus_nr_throttled).toBeGreaterThan(0);
      // Reported, but not required to have grown: the kernel adds throttled time when a period's
      // throttling ends, and 6.18's task-based throttling can show throttled periods with 0 ns.
      expect(after[0]?.cpus_throttled_time_secs).toBeGreaterThanOrEqual(0);
      expect(after[0]?.cpus_nr_periods).toBeGreaterThanOrEqual(after[0]?.cpus_nr_throttled ?? 0);
    });

    it('splits a contended core in proportion to the requests (shares 1:3)', async () => {
      const { containerizer } = await world().start(['cgroups/cpu']);
      await containerizer.launch(
        { value: 'small' },
        shell(world().sandbox('small'), BUSY_ON_CPU0, { cpus: 0.5 }),
      );
      await containerizer.launch(
        { value: 'large' },
        shell(world().sandbox('large'), BUSY_ON_CPU0, { cpus: 1.5 }),
      );
      const { burned } = await burnedOverWindow(containerizer, ['small', 'large']);
      const [small = 0, large = 0] = burned;
      const ratio = large / small;
      console.info(
        `cgroups/cpu shares: 0.5 CPU burned ${small.toFixed(3)} s, 1.5 CPU ${large.toFixed(3)} s, ratio ${ratio.toFixed(2)}`,
      );
      // CFS gives 3:1 between sibling cgroups on one core; other load on CPU 0 takes from both
      // alike, so only the ratio is asserted, within ±1 for tick granularity and scheduling noise.
      expect(ratio).toBeGreaterThan(2);
      expect(ratio).toBeLessThan(4);
    });

    it('reads usage from the cgroup alone, not from /proc', async () => {
      const { containerizer, isolators } = await world().start(['cgroups/cpu']);
      await containerizer.launch(
        { value: 'busy' },
        shell(world().sandbox('busy'), BUSY, { cpus: 1 }),
      );
      const isolator = isolators[0]?.isolator;
      const read = vi.spyOn(fs, 'readFileSync');
      const opened = vi.spyOn(fs, 'openSync');
      syncBuiltinESMExports();
      try {
        await isolator?.usage?.({ value: 'busy' });
        const paths = [...read.mock.calls, ...opened.mock.calls].map(([path]) => String(path));
        expect(paths.length).toBeGreaterThan(0);
        expect(paths.filter((path) => !path.startsWith('/sys/fs/cgroup/'))).toEqual([]);
      } finally {
        read.mockRestore();
        opened.mockRestore();
        syncBuiltinESMExports();
      }
    });
  },
);
