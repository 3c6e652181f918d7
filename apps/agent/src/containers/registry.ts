import { mkdirSync, readdirSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readCheckpoint } from '@corral/containerizer';
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
  private readonly metaDir: string;
  private readonly workDir: string;
  private readonly maxCompleted: number;
  private readonly logger: Logger;
  /** The last metadata operation of each record, which the next one waits for. */
  private readonly pending = new Map<string, Promise<void>>();

  constructor(workDir: string, maxCompleted: number, logger: Logger) {
    this.workDir = workDir;
    this.maxCompleted = maxCompleted;
    this.logger = logger;
    this.metaDir = join(workDir, 'meta', 'containers');
    mkdirSync(this.metaDir, { recursive: true });
    mkdirSync(join(workDir, 'containers'), { recursive: true });
  }

  sandboxOf(id: ContainerID): string {
    return join(this.workDir, 'containers', containerIdToString(id));
  }

  /** Loads the persisted records (at start, before recovery reconciles them). */
  load(): ContainerRecord[] {
    for (const entry of readdirSync(this.metaDir)) {
      if (!entry.endsWith('.json')) continue;
      const record = readCheckpoint<ContainerRecord>(join(this.metaDir, entry));
      if (!record) continue;
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

  add(launch: LaunchCall): ContainerRecord {
    const key = containerIdToString(launch.container_id);
    const record: ContainerRecord = {
      id: launch.container_id,
      key,
      launch,
      sandbox: this.sandboxOf(launch.container_id),
      created_at: Date.now() / 1000,
      state: 'TASK_STARTING',
      statuses: [],
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

  /** Forgets a terminated record; resolves once its sandbox and metadata are gone. */
  remove(record: ContainerRecord): Promise<void> {
    this.records.delete(record.key);
    const index = this.completedOrder.indexOf(record.key);
    if (index >= 0) this.completedOrder.splice(index, 1);
    return this.enqueue(record.key, async () => {
      await rm(this.metaFile(record.key), { force: true });
      await rm(record.sandbox, { recursive: true, force: true });
    });
  }

  /** Resolves once every metadata write and removal issued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all(this.pending.values());
  }

  private metaFile(key: string): string {
    return join(this.metaDir, `${key}.json`);
  }

  /**
   * Persists a record (what it holds now). Off the event loop, in order per record, so a burst
   * of launches does not stall the agent on a disk-backed work dir. Write-then-rename without
   * fsync: the metadata is informational (recovery relies on the containerizer's checkpoints).
   */
  save(record: ContainerRecord): void {
    const file = this.metaFile(record.key);
    const text = JSON.stringify(record);
    this.enqueue(record.key, async () => {
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    });
  }

  /** Runs `operation` after the earlier ones for `key`; a failure is logged, not thrown. */
  private enqueue(key: string, operation: () => Promise<void>): Promise<void> {
    const done = (this.pending.get(key) ?? Promise.resolve())
      .then(operation)
      .catch((error: unknown) =>
        this.logger.error('container metadata write failed', {
          container: key,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    this.pending.set(key, done);
    void done.then(() => {
      if (this.pending.get(key) === done) this.pending.delete(key);
    });
    return done;
  }
}
