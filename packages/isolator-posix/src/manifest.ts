import { defineIsolator, defineManifest } from '@corral/core';
import { createUsageIsolator } from './usage-isolator.ts';

export const posixCpu = defineIsolator({
  name: 'posix/cpu',
  description:
    "Reports CPU time of the container's processes, from its own cgroup's cpu.stat or /proc (no isolation)",
  create: () =>
    createUsageIsolator((sample) => ({
      cpus_user_time_secs: sample.userSecs,
      cpus_system_time_secs: sample.systemSecs,
    })),
});

export const posixMem = defineIsolator({
  name: 'posix/mem',
  description: 'Reports resident memory of the container processes from /proc (no isolation)',
  create: () => createUsageIsolator((sample) => ({ mem_rss_bytes: sample.rssBytes })),
});

export default defineManifest(posixCpu, posixMem);
