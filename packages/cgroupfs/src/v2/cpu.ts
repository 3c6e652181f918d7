import { readControl, writeControl } from '../cgroup.ts';
import {
  CFS_PERIOD_US,
  type CpuController,
  type CpuLimits,
  readFlatKeyed,
  sharesOfWeight,
  weightOf,
} from '../controllers.ts';

/** The v2 cpu controller: `cpu.weight`, `cpu.max` and `cpu.stat` (times and throttling in one file). */
export function v2Cpu(unified: string): CpuController {
  return {
    version: 2,
    hierarchies: [unified],
    write(cgroup: string, { shares, quotaUs }: CpuLimits): void {
      writeControl(unified, cgroup, 'cpu.weight', String(weightOf(shares)));
      writeControl(unified, cgroup, 'cpu.max', `${quotaUs ?? 'max'} ${CFS_PERIOD_US}`);
    },
    read(cgroup: string): CpuLimits {
      const shares = sharesOfWeight(Number(readControl(unified, cgroup, 'cpu.weight')));
      const [quota = 'max', period = String(CFS_PERIOD_US)] = readControl(
        unified,
        cgroup,
        'cpu.max',
      )
        .trim()
        .split(' ');
      if (quota === 'max') return { shares };
      return { shares, quotaUs: Math.round((Number(quota) * CFS_PERIOD_US) / Number(period)) };
    },
    usage(cgroup: string) {
      const stat = readFlatKeyed(unified, cgroup, 'cpu.stat');
      return {
        userSecs: (stat.user_usec ?? 0) / 1e6,
        systemSecs: (stat.system_usec ?? 0) / 1e6,
        nrPeriods: stat.nr_periods ?? 0,
        nrThrottled: stat.nr_throttled ?? 0,
        throttledSecs: (stat.throttled_usec ?? 0) / 1e6,
      };
    },
  };
}
