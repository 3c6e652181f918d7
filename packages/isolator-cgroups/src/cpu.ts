import { availableParallelism } from 'node:os';
import {
  CFS_PERIOD_US,
  type CpuController,
  type CpuLimits,
  quotaOf,
  SHARES_PER_CPU,
  sharesOf,
} from '@corral/cgroupfs';
import type { ContainerConfig, ResourceStatistics } from '@corral/core';
import type { ControllerPolicy } from './cgroup-isolator.ts';
import { requestAndLimit } from './requests.ts';

export interface CpuPolicyOptions {
  /** The CPU request of a launch without `resources[name=cpus]`. */
  readonly defaultCpus: number;
  /** `--cgroups_enable_cfs`: without a limit, the request is also the quota (Mesos). */
  readonly enableCfs: boolean;
}

/** Mesos' `MIN_CPUS`: a smaller quota would starve the container. */
const MIN_CPUS = 0.01;

/**
 * `cgroups/cpu`: shares (v2 weight) from the request, a CFS quota from the limit (or from the
 * request with `--cgroups_enable_cfs`), CPU times and throttling from the cgroup.
 */
/** What the kernel gets, and the request it came from (shares round it). */
export interface CpuSettings {
  readonly request: number;
  readonly limits: CpuLimits;
}

export function cpuPolicy(
  controller: CpuController,
  options: CpuPolicyOptions,
): ControllerPolicy<CpuSettings> {
  return {
    version: controller.version,
    hierarchies: controller.hierarchies,
    settings(config: ContainerConfig): CpuSettings {
      const { request, limit } = requestAndLimit(config, {
        name: 'cpus',
        defaultRequest: options.defaultCpus,
        minLimit: { value: MIN_CPUS, unit: 'CPUs' },
      });
      const quotaCpus = limit ?? (options.enableCfs ? request : Number.POSITIVE_INFINITY);
      const limits = {
        shares: sharesOf(request),
        quotaUs: quotaCpus === Number.POSITIVE_INFINITY ? undefined : quotaOf(quotaCpus),
      };
      return { request, limits };
    },
    apply: (cgroup, { limits }) => controller.write(cgroup, limits),
    recovered(cgroup: string): CpuSettings {
      const limits = controller.read(cgroup);
      // The request is only kept in the kernel as shares: close enough after a restart.
      return { request: limits.shares / SHARES_PER_CPU, limits };
    },
    usage(cgroup: string, { request, limits: { quotaUs } }: CpuSettings): ResourceStatistics {
      const usage = controller.usage(cgroup);
      return {
        cpus_user_time_secs: usage.userSecs,
        cpus_system_time_secs: usage.systemSecs,
        cpus_nr_periods: usage.nrPeriods,
        cpus_nr_throttled: usage.nrThrottled,
        cpus_throttled_time_secs: usage.throttledSecs,
        // Without a quota the container may use every CPU (Mesos reports the host's for "infinity").
        cpus_limit: quotaUs === undefined ? availableParallelism() : quotaUs / CFS_PERIOD_US,
        cpus_soft_limit: request,
      };
    },
  };
}
