import { totalmem } from 'node:os';
import type { MemoryController, MemoryLimits } from '@corral/cgroupfs';
import type { ContainerConfig, ResourceStatistics } from '@corral/core';
import type { ControllerPolicy } from './cgroup-isolator.ts';
import { requestAndLimit } from './requests.ts';

export const MB = 1024 * 1024;
/** Mesos' `MIN_MEMORY`: a smaller hard limit leaves too little for a process to start. */
export const MIN_MEMORY_MB = 32;

/**
 * `cgroups/mem`: a soft limit (v2 `memory.low`) at the request and a hard limit at the limit, or
 * at the request (at least 32 MB) when the launch gives none, as Mesos does.
 */
export function memPolicy(
  controller: MemoryController,
  defaultMb: number,
): ControllerPolicy<MemoryLimits> {
  return {
    version: controller.version,
    hierarchies: controller.hierarchies,
    settings(config: ContainerConfig): MemoryLimits {
      const { request, limit } = requestAndLimit(config, {
        name: 'mem',
        defaultRequest: defaultMb,
        minLimit: { value: MIN_MEMORY_MB, unit: 'MB' },
      });
      const hardMb = limit ?? Math.max(request, MIN_MEMORY_MB);
      return {
        softBytes: Math.floor(request * MB),
        hardBytes: hardMb === Number.POSITIVE_INFINITY ? undefined : Math.floor(hardMb * MB),
      };
    },
    apply: (cgroup, limits) => controller.write(cgroup, limits),
    recovered: (cgroup) => controller.read(cgroup),
    usage(cgroup: string, { hardBytes, softBytes }: MemoryLimits): ResourceStatistics {
      const usage = controller.usage(cgroup);
      return {
        mem_total_bytes: usage.totalBytes,
        mem_rss_bytes: usage.rssBytes,
        mem_cache_bytes: usage.cacheBytes,
        mem_anon_bytes: usage.anonBytes,
        mem_file_bytes: usage.fileBytes,
        mem_mapped_file_bytes: usage.mappedFileBytes,
        mem_unevictable_bytes: usage.unevictableBytes,
        ...(usage.swapBytes === undefined ? {} : { mem_swap_bytes: usage.swapBytes }),
        // "infinity" is the host's memory, as Mesos reports it.
        mem_limit_bytes: hardBytes ?? totalmem(),
        ...(softBytes === undefined ? {} : { mem_soft_limit_bytes: softBytes }),
      };
    },
  };
}
