import {
  assignProcessAsync,
  cgroupExists,
  cgroupPath,
  createCgroup,
  destroyCgroup,
  killCgroupProcesses,
  listChildCgroups,
  readControl,
  writeControl,
} from '@corral/cgroupfs';

/**
 * The operations the isolator needs on one cgroup hierarchy, with cgroup paths relative to it.
 * The real one is `hierarchyTree`; unit tests pass an in-memory tree.
 */
export interface CgroupTree {
  /** Absolute path of `cgroup`, for messages. */
  path(cgroup: string): string;
  exists(cgroup: string): boolean;
  /** Creates `cgroup` and its missing ancestors; false when `cgroup` was there already. */
  create(cgroup: string): boolean;
  /** Direct children, as paths relative to the hierarchy. */
  children(cgroup: string): string[];
  read(cgroup: string, file: string): string;
  write(cgroup: string, file: string, value: string): void;
  /** Moves `pid` into `cgroup`; off the event loop, as a migration can wait for the kernel. */
  assign(cgroup: string, pid: number): Promise<void>;
  /** Kills every process in `cgroup` and resolves when none is left; fine if it does not exist. */
  kill(cgroup: string): Promise<void>;
  /** Kills what is left and removes `cgroup` with its descendants; fine if it does not exist. */
  destroy(cgroup: string): Promise<void>;
}

/** The `CgroupTree` of the hierarchy mounted at `hierarchy`, backed by `@corral/cgroupfs`. */
export function hierarchyTree(hierarchy: string): CgroupTree {
  return {
    path: (cgroup) => cgroupPath(hierarchy, cgroup),
    exists: (cgroup) => cgroupExists(hierarchy, cgroup),
    create: (cgroup) => createCgroup(hierarchy, cgroup),
    children: (cgroup) => listChildCgroups(hierarchy, cgroup),
    read: (cgroup, file) => readControl(hierarchy, cgroup, file),
    write: (cgroup, file, value) => writeControl(hierarchy, cgroup, file, value),
    assign: (cgroup, pid) => assignProcessAsync(hierarchy, cgroup, pid),
    kill: (cgroup) => killCgroupProcesses(hierarchy, cgroup),
    destroy: (cgroup) => destroyCgroup(hierarchy, cgroup),
  };
}
