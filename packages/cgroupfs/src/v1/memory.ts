import { cgroupPath, readControl, writeControl } from '../cgroup.ts';
import {
  type MemoryController,
  type MemoryLimits,
  parseLimit,
  readFlatKeyed,
} from '../controllers.ts';

function limitFile(hierarchy: string, cgroup: string, file: string): number | undefined {
  return parseLimit(
    readControl(hierarchy, cgroup, file),
    `${cgroupPath(hierarchy, cgroup)}/${file}`,
  );
}

/**
 * The v1 memory controller: `memory.limit_in_bytes` (hard) and `memory.soft_limit_in_bytes`,
 * usage from `memory.usage_in_bytes`, `memory.max_usage_in_bytes` and the hierarchical `total_*`
 * counters of `memory.stat`, OOM kills from `memory.oom_control`.
 */
export function v1Memory(hierarchy: string): MemoryController {
  return {
    version: 1,
    hierarchies: [hierarchy],
    write(cgroup: string, { hardBytes, softBytes }: MemoryLimits): void {
      writeControl(hierarchy, cgroup, 'memory.soft_limit_in_bytes', String(softBytes ?? -1));
      writeControl(hierarchy, cgroup, 'memory.limit_in_bytes', String(hardBytes ?? -1));
    },
    read(cgroup: string): MemoryLimits {
      return {
        hardBytes: limitFile(hierarchy, cgroup, 'memory.limit_in_bytes'),
        softBytes: limitFile(hierarchy, cgroup, 'memory.soft_limit_in_bytes'),
      };
    },
    usage(cgroup: string) {
      const stat = readFlatKeyed(hierarchy, cgroup, 'memory.stat');
      return {
        totalBytes: Number(readControl(hierarchy, cgroup, 'memory.usage_in_bytes')),
        rssBytes: stat.total_rss ?? 0,
        cacheBytes: stat.total_cache ?? 0,
        anonBytes: (stat.total_active_anon ?? 0) + (stat.total_inactive_anon ?? 0),
        fileBytes: (stat.total_active_file ?? 0) + (stat.total_inactive_file ?? 0),
        mappedFileBytes: stat.total_mapped_file ?? 0,
        unevictableBytes: stat.total_unevictable ?? 0,
        swapBytes: stat.total_swap,
      };
    },
    peak: (cgroup) => Number(readControl(hierarchy, cgroup, 'memory.max_usage_in_bytes')),
    oomKills(cgroup: string): number {
      return readFlatKeyed(hierarchy, cgroup, 'memory.oom_control').oom_kill ?? 0;
    },
  };
}
