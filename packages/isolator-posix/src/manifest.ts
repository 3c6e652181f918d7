import { defineIsolator, defineManifest } from '@corral/core';
import { createUsageIsolator } from './usage-isolator.ts';

/** Linux's USER_HZ: /proc times are in these ticks on every architecture Node supports. */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

export const posixCpu = defineIsolator({
  name: 'posix/cpu',
  description:
    "Reports CPU time of the container's processes, from its own cgroup's cpu.stat or /proc (no isolation)",
  create: () =>
    createUsageIsolator(({ processes, cpu }) => ({
      cpus_user_time_secs:
        cpu?.user ?? processes.reduce((sum, p) => sum + p.utime, 0) / TICKS_PER_SECOND,
      cpus_system_time_secs:
        cpu?.system ?? processes.reduce((sum, p) => sum + p.stime, 0) / TICKS_PER_SECOND,
    })),
});

export const posixMem = defineIsolator({
  name: 'posix/mem',
  description: 'Reports resident memory of the container processes from /proc (no isolation)',
  create: () =>
    createUsageIsolator(({ processes }) => ({
      mem_rss_bytes: processes.reduce((sum, p) => sum + p.rssPages, 0) * PAGE_SIZE,
    })),
});

export default defineManifest(posixCpu, posixMem);
