import { UnexpectedResponseError } from './errors.ts';

/** The parts of the agent's JSON the CLI reads; everything else passes through untouched. */

interface ContainerStatusJson {
  readonly executor_pid?: number;
  readonly cgroup_info?: { readonly net_cls?: { readonly classid?: number } };
}

interface TaskStatusJson {
  readonly state: string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  readonly container_status?: ContainerStatusJson;
}

interface TaskJson {
  readonly id: string;
  readonly state: string;
  readonly statuses: readonly TaskStatusJson[];
}

export interface StateJson {
  readonly version?: string;
  readonly id?: string;
  readonly hostname?: string;
  /** Seconds since the epoch. */
  readonly start_time?: number;
  readonly flags?: Readonly<Record<string, string>>;
  readonly frameworks: readonly {
    readonly executors: readonly { readonly tasks: readonly TaskJson[] }[];
    readonly completed_executors: readonly { readonly completed_tasks: readonly TaskJson[] }[];
  }[];
}

export interface StatisticsJson {
  /** Seconds since the epoch, when the agent sampled the figures. */
  readonly timestamp?: number;
  readonly processes?: number;
  readonly cpus_user_time_secs?: number;
  readonly cpus_system_time_secs?: number;
  readonly mem_rss_bytes?: number;
  /** Present where an isolator counts the container's traffic (network/cni, egress accounting). */
  readonly net_tx_bytes?: number;
}

/** An entry of `GET /containers`: a running container. */
export interface ContainerEntryJson {
  readonly container_id: string;
  readonly status?: ContainerStatusJson;
  readonly statistics?: StatisticsJson;
}

interface WaitJson {
  readonly wait_container: {
    /** The raw wait(2) status: exit code N is N×256, death by signal S is S. */
    readonly exit_status?: number;
    readonly state?: string;
    readonly reason?: string;
    readonly message?: string;
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unexpected(what: string): UnexpectedResponseError {
  return new UnexpectedResponseError(`the agent's ${what} does not have the documented shape`);
}

export function asState(value: unknown): StateJson {
  if (!isObject(value) || !Array.isArray(value.frameworks)) throw unexpected('/state');
  return value as unknown as StateJson;
}

export function asContainers(value: unknown): readonly ContainerEntryJson[] {
  if (!Array.isArray(value)) throw unexpected('/containers');
  return value as ContainerEntryJson[];
}

export function asWait(value: unknown): WaitJson {
  if (!isObject(value) || !isObject(value.wait_container))
    throw unexpected('WAIT_CONTAINER answer');
  return value as unknown as WaitJson;
}

export function asMetrics(value: unknown): Readonly<Record<string, number>> {
  if (!isObject(value)) throw unexpected('/metrics/snapshot');
  return value as Record<string, number>;
}

/** Every task /state knows, running ones first, each once. */
export function tasksOf(state: StateJson): TaskJson[] {
  return state.frameworks.flatMap((framework) => [
    ...framework.executors.flatMap((executor) => executor.tasks),
    ...framework.completed_executors.flatMap((executor) => executor.completed_tasks),
  ]);
}

/** The last classid a task's statuses report. */
export function taskClassid(task: TaskJson): number | undefined {
  return task.statuses.findLast(
    (status) => status.container_status?.cgroup_info?.net_cls?.classid !== undefined,
  )?.container_status?.cgroup_info?.net_cls?.classid;
}

export function entryClassid(entry: ContainerEntryJson): number | undefined {
  return entry.status?.cgroup_info?.net_cls?.classid;
}
