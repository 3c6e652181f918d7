import { type Dirent, mkdirSync } from 'node:fs';
import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CommandInfo,
  type ContainerID,
  type ContainerInfo,
  type ContainerStatus,
  type ContainerTermination,
  containerIdToString,
  type Logger,
  type Resource,
  type ScalarValue,
  type TaskState,
} from '@corral/core';
import { Journal } from './journal.ts';

/** The body of a LAUNCH_CONTAINER call, validated. */
export interface LaunchCall {
  readonly container_id: ContainerID;
  readonly command: CommandInfo;
  readonly resources?: readonly Resource[];
  readonly limits?: Readonly<Record<string, ScalarValue>>;
  readonly container?: ContainerInfo;
}

export interface TaskStatusEntry {
  readonly state: TaskState;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  container_status?: ContainerStatus;
}

/** A container started through the runtime socket (`corral-runc`), kept for every later verb. */
export interface RuntimeOrigin {
  /** The runtime's id, e.g. Slurm's `node1.alice.42.0.0`. */
  readonly id: string;
  readonly bundle: string;
  readonly annotations: Readonly<Record<string, string>>;
  /** The caller's uid: other non-root callers do not see the container. */
  readonly owner: number;
}

/**
 * One container launched through the API, seen as a task of the agent's local framework (one
 * executor per container), so /state has the shape Mesos tools expect. It outlives the container:
 * its termination stays until REMOVE_CONTAINER (or until it falls out of the bounded history).
 */
export interface ContainerRecord {
  readonly id: ContainerID;
  readonly key: string;
  readonly launch: LaunchCall;
  readonly sandbox: string;
  /** Seconds since the epoch. */
  readonly created_at: number;
  state: TaskState;
  statuses: TaskStatusEntry[];
  termination?: ContainerTermination;
  terminated_at?: number;
  readonly runtime?: RuntimeOrigin;
}

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException).code === code;
}

/**
 * Deletes a sandbox. Most hold only a few files (stdout, stderr): those are unlinked at once, in
 * three steps where `rm -r` takes twice as many threadpool round trips; anything with
 * subdirectories goes to `rm -r`.
 */
async function removeSandbox(dir: string): Promise<void> {
  const removeAll = () => rm(dir, { recursive: true, force: true });
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  if (entries.some((entry) => entry.isDirectory())) return removeAll();
  await Promise.all(
    entries.map((entry) =>
      unlink(join(dir, entry.name)).catch((error: unknown) => {
        if (!isErrno(error, 'ENOENT')) throw error;
      }),
    ),
  );
  try {
    await rmdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return;
    if (isErrno(error, 'ENOTEMPTY') || isErrno(error, 'EEXIST')) return removeAll();
    throw error;
  }
}

const TERMINAL: ReadonlySet<TaskState> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_GONE',
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/**
 * The agent's records of API containers, persisted under `<work_dir>/meta/containers/` so a
 * restarted agent still knows their requests, statuses and terminations. Records are written when
 * a launch is accepted and when the container terminates; no write sits on the hot path twice.
 */
export class ContainerRegistry {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly completedOrder: string[] = [];
  private readonly workDir: string;
  private readonly maxCompleted: number;
  private readonly journal: Journal<ContainerRecord>;
  /** Sandbox removals in flight, by id: a new launch of that id waits for its removal. */
  private readonly removals = new Map<string, Promise<void>>();

  constructor(workDir: string, maxCompleted: number, logger: Logger) {
    this.workDir = workDir;
    this.maxCompleted = maxCompleted;
    mkdirSync(join(workDir, 'meta'), { recursive: true });
    mkdirSync(join(workDir, 'containers'), { recursive: true });
    this.journal = new Journal(join(workDir, 'meta', 'containers.jsonl'), logger);
  }

  sandboxOf(id: ContainerID): string {
    return join(this.workDir, 'containers', containerIdToString(id));
  }

  /** Loads the persisted records (at start, before recovery reconciles them). */
  load(): ContainerRecord[] {
    for (const record of this.journal.load()) {
      this.records.set(record.key, record);
      if (isTerminal(record.state)) this.completedOrder.push(record.key);
    }
    this.completedOrder.sort(
      (a, b) =>
        (this.records.get(a)?.terminated_at ?? 0) - (this.records.get(b)?.terminated_at ?? 0),
    );
    return [...this.records.values()];
  }

  get(id: ContainerID): ContainerRecord | undefined {
    return this.records.get(containerIdToString(id));
  }

  all(): IterableIterator<ContainerRecord> {
    return this.records.values();
  }

  /** Resolves once an earlier container of this id has had its sandbox removed. */
  async removed(id: ContainerID): Promise<void> {
    await this.removals.get(containerIdToString(id));
  }

  add(launch: LaunchCall, runtime?: RuntimeOrigin): ContainerRecord {
    const key = containerIdToString(launch.container_id);
    const record: ContainerRecord = {
      id: launch.container_id,
      key,
      launch,
      sandbox: this.sandboxOf(launch.container_id),
      created_at: Date.now() / 1000,
      state: 'TASK_STARTING',
      statuses: [],
      ...(runtime ? { runtime } : {}),
    };
    this.records.set(key, record);
    this.save(record);
    return record;
  }

  /** Appends a status; returns the entry so its container_status can be filled in later. */
  addStatus(
    record: ContainerRecord,
    state: TaskState,
    containerStatus?: ContainerStatus,
  ): TaskStatusEntry {
    const entry: TaskStatusEntry = {
      state,
      timestamp: Date.now() / 1000,
      ...(containerStatus ? { container_status: containerStatus } : {}),
    };
    record.statuses.push(entry);
    record.state = state;
    return entry;
  }

  terminate(record: ContainerRecord, termination: ContainerTermination, state: TaskState): void {
    const lastStatus = record.statuses.findLast(
      (entry) => entry.container_status,
    )?.container_status;
    this.addStatus(record, state, lastStatus);
    record.termination = termination;
    record.terminated_at = Date.now() / 1000;
    this.save(record);
    this.completedOrder.push(record.key);
    while (this.completedOrder.length > this.maxCompleted) {
      const oldest = this.completedOrder.shift();
      const evicted = oldest === undefined ? undefined : this.records.get(oldest);
      if (evicted) void this.remove(evicted);
    }
  }

  /** Forgets a terminated record; resolves once its sandbox is gone. */
  remove(record: ContainerRecord): Promise<void> {
    this.records.delete(record.key);
    const index = this.completedOrder.indexOf(record.key);
    if (index >= 0) this.completedOrder.splice(index, 1);
    this.journal.remove(record.key);
    const removal = removeSandbox(record.sandbox);
    this.removals.set(record.key, removal);
    void removal.finally(() => {
      if (this.removals.get(record.key) === removal) this.removals.delete(record.key);
    });
    return removal;
  }

  /** Persists what a record holds now (one appended journal line). */
  save(record: ContainerRecord): void {
    this.journal.save(record);
  }

  /** Resolves once every record change and sandbox removal issued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([this.journal.flush(), ...this.removals.values()]);
  }
}
