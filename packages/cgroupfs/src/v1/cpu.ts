import { readControl, writeControl } from '../cgroup.ts';
import {
  CFS_PERIOD_US,
  type CpuController,
  type CpuLimits,
  readFlatKeyed,
} from '../controllers.ts';

/** USER_HZ: `cpuacct.stat` counts in clock ticks, 100 per second on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/**
 * The v1 cpu controller: `cpu.shares`, `cpu.cfs_period_us`/`cpu.cfs_quota_us`, throttling from
 * `cpu.stat`, and time from the cpuacct controller's `cpuacct.stat`. The two may be mounted
 * together (`cpu,cpuacct`) or apart; `cpuacct` is the cpuacct hierarchy either way.
 */
export function v1Cpu(cpu: string, cpuacct: string): CpuController {
  return {
    version: 1,
    hierarchies: cpu === cpuacct ? [cpu] : [cpu, cpuacct],
    write(cgroup: string, { shares, quotaUs }: CpuLimits): void {
      writeControl(cpu, cgroup, 'cpu.shares', String(shares));
      if (quotaUs === undefined) {
        writeControl(cpu, cgroup, 'cpu.cfs_quota_us', '-1');
        return;
      }
      writeControl(cpu, cgroup, 'cpu.cfs_period_us', String(CFS_PERIOD_US));
      writeControl(cpu, cgroup, 'cpu.cfs_quota_us', String(quotaUs));
    },
    read(cgroup: string): CpuLimits {
      const shares = Number(readControl(cpu, cgroup, 'cpu.shares'));
      const quota = Number(readControl(cpu, cgroup, 'cpu.cfs_quota_us'));
      if (quota < 0) return { shares };
      const period = Number(readControl(cpu, cgroup, 'cpu.cfs_period_us'));
      return { shares, quotaUs: Math.round((quota * CFS_PERIOD_US) / period) };
    },
    usage(cgroup: string) {
      const times = readFlatKeyed(cpuacct, cgroup, 'cpuacct.stat');
      const stat = readFlatKeyed(cpu, cgroup, 'cpu.stat');
      return {
        userSecs: (times.user ?? 0) / TICKS_PER_SECOND,
        systemSecs: (times.system ?? 0) / TICKS_PER_SECOND,
        nrPeriods: stat.nr_periods ?? 0,
        nrThrottled: stat.nr_throttled ?? 0,
        throttledSecs: (stat.throttled_time ?? 0) / 1e9,
      };
    },
  };
}
