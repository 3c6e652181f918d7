import { cgroupPath, readControl, writeControl } from '../cgroup.ts';
import {
  type MemoryController,
  type MemoryLimits,
  parseLimit,
  readFlatKeyed,
  readOptionalControl,
} from '../controllers.ts';

function limitFile(unified: string, cgroup: string, file: string): number | undefined {
  return parseLimit(readControl(unified, cgroup, file), `${cgroupPath(unified, cgroup)}/${file}`);
}

/**
 * The v2 memory controller: `memory.max` (hard) and `memory.low` (the request is protected from
 * reclaim, which is what v1's soft limit achieves; `memory.high` would throttle a container at its
 * request even when it may burst to its limit), usage from `memory.current`, `memory.peak`
 * (Linux ≥ 5.19) and `memory.stat`, OOM kills from `memory.events`.
 */
export function v2Memory(unified: string): MemoryController {
  return {
    version: 2,
    hierarchies: [unified],
    write(cgroup: string, { hardBytes, softBytes }: MemoryLimits): void {
      writeControl(unified, cgroup, 'memory.low', String(softBytes ?? 0));
      writeControl(unified, cgroup, 'memory.max', String(hardBytes ?? 'max'));
    },
    read(cgroup: string): MemoryLimits {
      const low = limitFile(unified, cgroup, 'memory.low');
      return {
        hardBytes: limitFile(unified, cgroup, 'memory.max'),
        softBytes: low === 0 ? undefined : low,
      };
    },
    usage(cgroup: string) {
      const stat = readFlatKeyed(unified, cgroup, 'memory.stat');
      const swap = readOptionalControl(unified, cgroup, 'memory.swap.current');
      return {
        totalBytes: Number(readControl(unified, cgroup, 'memory.current')),
        rssBytes: stat.anon ?? 0,
        cacheBytes: stat.file ?? 0,
        anonBytes: stat.anon ?? 0,
        fileBytes: stat.file ?? 0,
        mappedFileBytes: stat.file_mapped ?? 0,
        unevictableBytes: stat.unevictable ?? 0,
        swapBytes: swap === undefined ? undefined : Number(swap),
      };
    },
    peak(cgroup: string): number | undefined {
      const peak = readOptionalControl(unified, cgroup, 'memory.peak');
      return peak === undefined ? undefined : Number(peak);
    },
    oomKills(cgroup: string): number {
      return readFlatKeyed(unified, cgroup, 'memory.events').oom_kill ?? 0;
    },
  };
}
