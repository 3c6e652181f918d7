import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  CgroupError,
  findCgroup2Mount,
  listProcesses,
  processCgroups,
  readControl,
} from '@corral/cgroupfs';
import {
  type ProcessTable,
  type ProcStat,
  processTree,
  readProcessTableSliced,
  readProcStat,
} from '@corral/procfs';

/** What a usage call sees of one container: totals over its processes. */
export interface ContainerSample {
  readonly processes: number;
  readonly threads: number;
  /**
   * CPU seconds. From the container's own cgroup's `cpu.stat` when it has one, which keeps the
   * time of processes that have exited; else summed over its live processes.
   */
  readonly userSecs: number;
  readonly systemSecs: number;
  readonly rssBytes: number;
}

/**
 * Where a container's processes are: the cgroup v2 its init was forked into when that cgroup is
 * the container's own (the linux launcher's tracking cgroup, `<root>/<id>`), else the process
 * tree under its init.
 */
type ProcessSource =
  | { readonly init: number; readonly hierarchy: string; readonly cgroup: string }
  | { readonly init: number; readonly cgroup?: undefined };

interface Request {
  readonly key: string;
  readonly pid: number;
  readonly result: PromiseWithResolvers<ContainerSample>;
}

export interface SamplerOptions {
  readonly procRoot?: string;
  /** Reads the whole process table; a test replaces it to count scans. */
  readonly readTable?: (procRoot: string) => Promise<ProcessTable>;
  /** Longest stretch the sampler keeps the event loop, in ms. */
  readonly sliceMs?: number;
  /** How long a sample answers further calls, in ms. */
  readonly freshMs?: number;
}

/** Linux's USER_HZ: /proc times are in these ticks on every architecture Node supports. */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;
const SLICE_MS = 5;
/** Longest a batch waits for more calls before it is served. */
const MAX_BATCH_WAIT_MS = 1000;
/**
 * How long a sample answers further calls. `/containers` and `GET_CONTAINERS` back to back (or
 * posix/cpu and posix/mem of one request) then cost one read.
 */
const FRESH_MS = 100;
/**
 * Reads per container in its cgroup (`cgroup.procs`, `cpu.stat`, about two `/proc/<pid>/stat`)
 * beside one `cpu.stat` read with the whole table (which costs one read per task): a batch asking
 * for more than a third of the machine's tasks is cheaper from the table.
 */
const CGROUP_READS_OVER_TABLE = 3;
const USER_USEC = /^user_usec (\d+)$/m;
const SYSTEM_USEC = /^system_usec (\d+)$/m;

function errnoOf(error: unknown): string | undefined {
  return error instanceof CgroupError ? error.errno : (error as NodeJS.ErrnoException).code;
}

function totals(
  processes: readonly ProcStat[],
  cpu?: { userSecs: number; systemSecs: number },
): ContainerSample {
  let threads = 0;
  let userTicks = 0;
  let systemTicks = 0;
  let rssPages = 0;
  for (const process of processes) {
    threads += process.threads;
    userTicks += process.utime;
    systemTicks += process.stime;
    rssPages += process.rssPages;
  }
  return {
    processes: processes.length,
    threads,
    userSecs: cpu?.userSecs ?? userTicks / TICKS_PER_SECOND,
    systemSecs: cpu?.systemSecs ?? systemTicks / TICKS_PER_SECOND,
    rssBytes: rssPages * PAGE_SIZE,
  };
}

/**
 * Samples containers for posix/cpu and posix/mem, which share one sampler. Calls join one batch
 * until a turn of the event loop passes without a new call (a `/containers` request asks every
 * container in a few slices); a batch starts after the one before it has finished, so each batch
 * reads state newer than its calls. A batch costs at most one scan of the process table, and a
 * container with a cgroup of its own, asked alone, O(its processes). Everything runs in slices of
 * at most `sliceMs`, so other requests are served in between.
 */
export class UsageSampler {
  readonly #procRoot: string;
  readonly #readTable: (procRoot: string) => Promise<ProcessTable>;
  readonly #sliceMs: number;
  readonly #freshMs: number;
  /** Each container's source, found on its first sample (not at recovery: that would be O(n)). */
  readonly #sources = new Map<string, ProcessSource>();
  /** The last sample of each container, and when it was read. */
  readonly #recent = new Map<string, { pid: number; at: number; sample: ContainerSample }>();
  #batch = new Map<string, Request>();
  #running: Promise<void> = Promise.resolve();
  #scheduled = false;
  /** Calls so far, to see whether a turn brought any. */
  #calls = 0;
  #cgroup2: { readonly mount: string; readonly self: string | undefined } | null | undefined;

  constructor(options: SamplerOptions = {}) {
    this.#procRoot = options.procRoot ?? '/proc';
    this.#sliceMs = options.sliceMs ?? SLICE_MS;
    this.#freshMs = options.freshMs ?? FRESH_MS;
    this.#readTable = options.readTable ?? ((root) => readProcessTableSliced(root, this.#sliceMs));
  }

  /** The processes of the container `key` whose init is `pid`. */
  sample(key: string, pid: number): Promise<ContainerSample> {
    const recent = this.#recent.get(key);
    if (recent?.pid === pid && performance.now() - recent.at <= this.#freshMs) {
      return Promise.resolve(recent.sample);
    }
    const pending = this.#batch.get(key);
    if (pending?.pid === pid) return pending.result.promise;
    const request: Request = { key, pid, result: Promise.withResolvers() };
    this.#batch.set(key, request);
    this.#calls++;
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#running = this.#running.then(async () => {
        // Open while calls keep coming each turn: a caller may ask in slices.
        const opened = performance.now();
        let seen: number;
        do {
          seen = this.#calls;
          await nextTurn();
        } while (this.#calls !== seen && performance.now() - opened < MAX_BATCH_WAIT_MS);
        const batch = [...this.#batch.values()];
        this.#batch = new Map();
        this.#scheduled = false;
        try {
          await this.#flush(batch);
        } catch (error) {
          // Whatever went wrong fails this batch's calls (settled ones stay), not later batches.
          for (const request of batch) request.result.reject(error);
        }
      });
    }
    return request.result.promise;
  }

  /** Drops what is remembered of a container. */
  forget(key: string): void {
    this.#sources.delete(key);
    this.#recent.delete(key);
  }

  async #flush(batch: readonly Request[]): Promise<void> {
    let sliceStart = performance.now();
    const yieldIfDue = async () => {
      if (performance.now() - sliceStart <= this.#sliceMs) return;
      await nextTurn();
      sliceStart = performance.now();
    };
    const sourced: { request: Request; source: ProcessSource }[] = [];
    for (const request of batch) {
      try {
        sourced.push({ request, source: this.#sourceOf(request) });
      } catch (error) {
        request.result.reject(error);
      }
      await yieldIfDue();
    }
    let table: ProcessTable | undefined;
    if (this.#wantsTable(sourced.map(({ source }) => source))) {
      table = await this.#readTable(this.#procRoot);
      this.#flushCpuStats(sourced.map(({ source }) => source));
      sliceStart = performance.now();
    }
    for (const { request, source } of sourced) {
      try {
        const sample = this.#read(source, table);
        this.#recent.set(request.key, { pid: request.pid, at: performance.now(), sample });
        request.result.resolve(sample);
      } catch (error) {
        request.result.reject(error);
      }
      await yieldIfDue();
    }
  }

  /** Whether the batch is cheaper served from one scan of every process. */
  #wantsTable(sources: readonly ProcessSource[]): boolean {
    const inCgroups = sources.filter((source) => source.cgroup !== undefined).length;
    return (
      inCgroups < sources.length || CGROUP_READS_OVER_TABLE * inCgroups > this.#tasksOnMachine()
    );
  }

  /**
   * Reads `cpu.stat` of each parent of the batch's cgroups once. The kernel keeps, per parent, a
   * singly linked list of children with CPU time not yet summed up, newest first; reading one
   * child unlinks it by walking that list, so reading 10,000 siblings oldest first was quadratic
   * (4.4 s of reads for the first listing after the launches). One read of the parent sums up the
   * whole subtree in one pass.
   */
  #flushCpuStats(sources: readonly ProcessSource[]): void {
    const parents = new Map<string, string>();
    for (const source of sources) {
      if (source.cgroup !== undefined) parents.set(dirname(source.cgroup), source.hierarchy);
    }
    for (const [parent, hierarchy] of parents) readControl(hierarchy, parent, 'cpu.stat');
  }

  /** Tasks (threads) the kernel has, from /proc/loadavg's `running/total`: about a scan's size. */
  #tasksOnMachine(): number {
    try {
      const total = readFileSync(`${this.#procRoot}/loadavg`, 'latin1')
        .split(' ')[3]
        ?.split('/')[1];
      return total === undefined ? Number.POSITIVE_INFINITY : Number(total);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Number.POSITIVE_INFINITY;
      throw error;
    }
  }

  #sourceOf({ key, pid }: Request): ProcessSource {
    const known = this.#sources.get(key);
    if (known?.init === pid) return known;
    const source = this.#locate(key, pid);
    this.#sources.set(key, source);
    return source;
  }

  #locate(key: string, pid: number): ProcessSource {
    this.#cgroup2 ??= this.#findCgroup2();
    if (this.#cgroup2 === null) return { init: pid };
    let cgroup: string | undefined;
    try {
      cgroup = processCgroups(pid).find((entry) => entry.hierarchyId === 0)?.path;
    } catch (error) {
      // The init is gone: its tree is empty, and stays so.
      if (errnoOf(error) === 'ENOENT') return { init: pid };
      throw error;
    }
    // Only a cgroup of the container's own holds just its processes: not the agent's.
    return cgroup !== undefined && cgroup !== this.#cgroup2.self && basename(cgroup) === key
      ? { init: pid, hierarchy: this.#cgroup2.mount, cgroup }
      : { init: pid };
  }

  #findCgroup2(): { mount: string; self: string | undefined } | null {
    const mount = findCgroup2Mount();
    if (mount === undefined) return null;
    return {
      mount,
      self: processCgroups('self').find((entry) => entry.hierarchyId === 0)?.path,
    };
  }

  /**
   * With the table, a container's processes are the tree under its init (a child subreaper, so
   * orphans stay in it); without, those its cgroup lists.
   */
  #read(source: ProcessSource, table: ProcessTable | undefined): ContainerSample {
    if (source.cgroup === undefined) return totals(table ? processTree(source.init, table) : []);
    try {
      const cpu = readControl(source.hierarchy, source.cgroup, 'cpu.stat');
      const processes = table
        ? processTree(source.init, table)
        : listProcesses(source.hierarchy, source.cgroup).flatMap(
            (pid) => readProcStat(pid, this.#procRoot) ?? [],
          );
      return totals(processes, {
        userSecs: Number(USER_USEC.exec(cpu)?.[1] ?? 0) / 1e6,
        systemSecs: Number(SYSTEM_USEC.exec(cpu)?.[1] ?? 0) / 1e6,
      });
    } catch (error) {
      // Destroyed since it was located: nothing runs in it any more.
      if (errnoOf(error) === 'ENOENT') return totals([]);
      throw error;
    }
  }
}
