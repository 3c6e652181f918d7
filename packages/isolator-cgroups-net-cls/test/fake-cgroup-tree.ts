import type { CgroupTree } from '../src/cgroup-tree.ts';

interface FakeCgroup {
  readonly files: Map<string, string>;
  readonly pids: Set<number>;
}

/**
 * An in-memory cgroup hierarchy for unit tests: cgroups are keys, `net_cls.classid` starts at 0
 * like the kernel's, `assign` records pids, `kill` empties a cgroup and `destroy` removes it with
 * its descendants. `failNext` makes the next call of an operation throw.
 */
export class FakeCgroupTree implements CgroupTree {
  readonly cgroups = new Map<string, FakeCgroup>();
  readonly calls: string[] = [];
  readonly mountPoint: string;
  readonly #failures = new Map<string, Error>();

  constructor(mountPoint = '/fake/net_cls') {
    this.mountPoint = mountPoint;
  }

  failNext(operation: keyof CgroupTree, error = new Error(`injected ${operation} failure`)): void {
    this.#failures.set(operation, error);
  }

  #record(operation: keyof CgroupTree, cgroup: string): void {
    this.calls.push(`${operation} ${cgroup}`);
    const failure = this.#failures.get(operation);
    if (failure) {
      this.#failures.delete(operation);
      throw failure;
    }
  }

  #get(cgroup: string): FakeCgroup {
    const found = this.cgroups.get(cgroup);
    if (!found) throw Object.assign(new Error(`ENOENT: ${this.path(cgroup)}`), { code: 'ENOENT' });
    return found;
  }

  path(cgroup: string): string {
    return `${this.mountPoint}/${cgroup}`;
  }

  exists(cgroup: string): boolean {
    return this.cgroups.has(cgroup);
  }

  create(cgroup: string): boolean {
    this.#record('create', cgroup);
    const existed = this.cgroups.has(cgroup);
    const parts = cgroup.split('/');
    for (let depth = 1; depth <= parts.length; depth++) {
      const path = parts.slice(0, depth).join('/');
      if (!this.cgroups.has(path)) {
        this.cgroups.set(path, { files: new Map([['net_cls.classid', '0\n']]), pids: new Set() });
      }
    }
    return !existed;
  }

  children(cgroup: string): string[] {
    this.#get(cgroup);
    return [...this.cgroups.keys()]
      .filter(
        (path) => path.startsWith(`${cgroup}/`) && !path.slice(cgroup.length + 1).includes('/'),
      )
      .sort();
  }

  read(cgroup: string, file: string): string {
    const value = this.#get(cgroup).files.get(file);
    if (value === undefined) throw new Error(`no ${file} in ${cgroup}`);
    return value;
  }

  write(cgroup: string, file: string, value: string): void {
    this.#record('write', `${cgroup}/${file}=${value}`);
    this.#get(cgroup).files.set(file, `${value}\n`);
  }

  async assign(cgroup: string, pid: number): Promise<void> {
    this.#record('assign', `${cgroup} ${pid}`);
    this.#get(cgroup).pids.add(pid);
  }

  async kill(cgroup: string): Promise<void> {
    this.#record('kill', cgroup);
    this.cgroups.get(cgroup)?.pids.clear();
  }

  async destroy(cgroup: string): Promise<void> {
    this.#record('destroy', cgroup);
    for (const path of [...this.cgroups.keys()]) {
      if (path === cgroup || path.startsWith(`${cgroup}/`)) this.cgroups.delete(path);
    }
  }

  /** Writes a classid the way the kernel stores it (decimal). */
  setClassid(cgroup: string, classid: number): void {
    this.create(cgroup);
    this.#get(cgroup).files.set('net_cls.classid', `${classid}\n`);
  }
}
