import { basename } from 'node:path';
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

/** What a usage call sees of one container. */
export interface ContainerSample {
  /** The container's live processes. */
  readonly processes: readonly ProcStat[];
  /**
   * CPU seconds of every process the container has run, from its own cgroup's `cpu.stat`;
   * absent when the container has no cgroup of its own (the posix launcher).
   */
  readonly cpu?: { readonly user: number; readonly system: number };
}

/**
 * Where a container's processes are: the cgroup v2 its init was forked into when that cgroup is
 * the container's own (the linux launcher's tracking cgroup, `<root>/<id>`), else the process
 * tree under its init.
 */
type ProcessSource =
  | { readonly hierarchy: string; readonly cgroup: string }
  | { readonly init: number };

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
}

const SLICE_MS = 5;
/** Longest a batch waits for more calls before it is served. */
const MAX_BATCH_WAIT_MS = 1000;

function errnoOf(error: unknown): string | undefined {
  return error instanceof CgroupError ? error.errno : (error as NodeJS.ErrnoException).code;
}

function parseCpuStat(text: string): { user: number; system: number } {
  const usec = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { user: usec('user_usec') / 1e6, system: usec('system_usec') / 1e6 };
}

/**
 * Samples containers for posix/cpu and posix/mem, which share one sampler. Calls join one batch
 * until a turn of the event loop passes without a new call (a `/containers` request asks every
 * container in a few slices); a batch starts after the one before it has finished, so each batch
 * reads state newer than its calls. Per batch: containers with a cgroup of their own cost O(their processes) (`cgroup.procs`,
 * their `/proc/<pid>/stat`, `cpu.stat`); the others share a single scan of the process table.
 * All of it runs in slices of at most `sliceMs`, so other requests are served in between.
 */
export class UsageSampler {
  readonly #procRoot: string;
  readonly #readTable: (procRoot: string) => Promise<ProcessTable>;
  readonly #sliceMs: number;
  /** Each container's source, found on its first sample (not at recovery: that would be O(n)). */
  readonly #sources = new Map<string, { readonly pid: number; readonly source: ProcessSource }>();
  #batch = new Map<string, Request>();
  #running: Promise<void> = Promise.resolve();
  #scheduled = false;
  /** Calls so far, to see whether a turn brought any. */
  #calls = 0;
  #cgroup2: { readonly mount: string; readonly self: string | undefined } | null | undefined;

  constructor(options: SamplerOptions = {}) {
    this.#procRoot = options.procRoot ?? '/proc';
    this.#readTable = options.readTable ?? ((root) => readProcessTableSliced(root, this.#sliceMs));
    this.#sliceMs = options.sliceMs ?? SLICE_MS;
  }

  /** The processes of the container `key` whose init is `pid`. */
  sample(key: string, pid: number): Promise<ContainerSample> {
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
        const batch = this.#batch;
        this.#batch = new Map();
        this.#scheduled = false;
        await this.#flush([...batch.values()]);
      });
    }
    return request.result.promise;
  }

  /** Drops what is remembered of a container (its cgroup). */
  forget(key: string): void {
    this.#sources.delete(key);
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
    let table: Promise<ProcessTable> | undefined;
    for (const { request, source } of sourced) {
      try {
        if ('init' in source) {
          table ??= this.#readTable(this.#procRoot);
          request.result.resolve({ processes: processTree(source.init, await table) });
          sliceStart = performance.now();
        } else {
          request.result.resolve(this.#readCgroup(source));
        }
      } catch (error) {
        request.result.reject(error);
      }
      await yieldIfDue();
    }
  }

  #sourceOf({ key, pid }: Request): ProcessSource {
    const known = this.#sources.get(key);
    if (known?.pid === pid) return known.source;
    const source = this.#locate(key, pid);
    this.#sources.set(key, { pid, source });
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
      ? { hierarchy: this.#cgroup2.mount, cgroup }
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

  #readCgroup({ hierarchy, cgroup }: { hierarchy: string; cgroup: string }): ContainerSample {
    try {
      const pids = listProcesses(hierarchy, cgroup);
      const cpu = parseCpuStat(readControl(hierarchy, cgroup, 'cpu.stat'));
      const processes = pids.flatMap((pid) => readProcStat(pid, this.#procRoot) ?? []);
      return { processes, cpu };
    } catch (error) {
      // Destroyed since it was located: nothing runs in it any more.
      if (errnoOf(error) === 'ENOENT') return { processes: [] };
      throw error;
    }
  }
}
