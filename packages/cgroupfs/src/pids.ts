import { cgroupPath, readControl, writeControl } from './cgroup.ts';
import { type PidsController, parseLimit } from './controllers.ts';

/** The pids controller, whose files are the same on v1 and v2: `pids.max`, `pids.current`. */
export function pidsController(hierarchy: string, version: 1 | 2): PidsController {
  return {
    version,
    hierarchies: [hierarchy],
    write(cgroup: string, max: number | undefined): void {
      writeControl(hierarchy, cgroup, 'pids.max', max === undefined ? 'max' : String(max));
    },
    read(cgroup: string): number | undefined {
      return parseLimit(
        readControl(hierarchy, cgroup, 'pids.max'),
        `${cgroupPath(hierarchy, cgroup)}/pids.max`,
      );
    },
    current(cgroup: string): number {
      return Number(readControl(hierarchy, cgroup, 'pids.current'));
    },
  };
}
