import type { ContainerStatus, Resource, ResourceStatistics } from '@corral/core';
import { type ContainerRecord, isTerminal, type TaskStatusEntry } from './registry.ts';

/** The agent's single local framework: every API container is one of its tasks. */
export const FRAMEWORK_ID = 'corral-local';

export interface AgentIdentity {
  readonly id: string;
  readonly version: string;
  readonly hostname: string;
  readonly pid: string;
  readonly port: number;
  readonly startTime: number;
}

/** `AgentInfo` of the v1 API; `hostname` is required and the id is the persisted one. */
export function agentInfoView(agent: AgentIdentity) {
  return { hostname: agent.hostname, port: agent.port, id: { value: agent.id } };
}

/** The local framework as v1 `FrameworkInfo` (`user` and `name` are required). */
function frameworkInfo(agent: AgentIdentity) {
  return {
    user: 'root',
    name: 'corral',
    id: { value: FRAMEWORK_ID },
    checkpoint: true,
    hostname: agent.hostname,
  };
}

function resourcesObject(resources: readonly Resource[] | undefined): Record<string, number> {
  const result: Record<string, number> = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
  for (const resource of resources ?? []) {
    if (resource.type === 'SCALAR' && resource.scalar)
      result[resource.name] = resource.scalar.value;
  }
  return result;
}

/** /state's container_status drops executor_pid, as Mesos' custom writer does. */
function stateContainerStatus(status: ContainerStatus): ContainerStatus {
  const { executor_pid: _pid, ...rest } = status;
  return rest;
}

function statusView(entry: TaskStatusEntry, record: ContainerRecord) {
  // The terminal status says why, as Mesos' TaskStatus does (e.g. an OOM kill's limitation).
  const why = entry === record.statuses.at(-1) ? record.termination : undefined;
  return {
    task_id: { value: record.key },
    state: entry.state,
    ...(why?.reason ? { reason: why.reason } : {}),
    ...(why?.message ? { message: why.message } : {}),
    source: 'SOURCE_EXECUTOR',
    timestamp: entry.timestamp,
    ...(entry.container_status
      ? { container_status: stateContainerStatus(entry.container_status) }
      : {}),
  };
}

function taskView(record: ContainerRecord, agentId: string) {
  return {
    id: record.key,
    name: record.key,
    framework_id: FRAMEWORK_ID,
    executor_id: record.key,
    slave_id: agentId,
    state: record.state,
    resources: resourcesObject(record.launch.resources),
    ...(record.launch.limits ? { limits: record.launch.limits } : {}),
    role: '*',
    statuses: record.statuses.map((entry) => statusView(entry, record)),
    container: { type: 'MESOS', ...record.launch.container },
  };
}

function executorView(record: ContainerRecord, agentId: string) {
  const task = taskView(record, agentId);
  const done = isTerminal(record.state);
  return {
    id: record.key,
    name: `Container ${record.key}`,
    source: record.key,
    container: record.key,
    directory: record.sandbox,
    resources: resourcesObject(record.launch.resources),
    tasks: done ? [] : [task],
    queued_tasks: [],
    completed_tasks: done ? [task] : [],
  };
}

/** `items` mapped with `each` lazily, every time the result is iterated. */
function lazyMap<T, R>(items: readonly T[], each: (item: T) => R): Iterable<R> {
  return {
    *[Symbol.iterator]() {
      for (const item of items) yield each(item);
    },
  };
}

/** Running and terminated records, in the order given. */
function partition(records: Iterable<ContainerRecord>) {
  const running: ContainerRecord[] = [];
  const terminated: ContainerRecord[] = [];
  for (const record of records) (isTerminal(record.state) ? terminated : running).push(record);
  return { running, terminated };
}

/**
 * `GET /state`, in the Mesos agent's shape. The per-container lists are lazy: each entry is built
 * as the answer is written (`jsonStream`), so no stretch builds all of them at once.
 */
export function stateView(
  agent: AgentIdentity,
  records: Iterable<ContainerRecord>,
  flags: Readonly<Record<string, string>>,
) {
  const { running, terminated } = partition(records);
  const view = (record: ContainerRecord) => executorView(record, agent.id);
  return {
    version: agent.version,
    id: agent.id,
    pid: agent.pid,
    hostname: agent.hostname,
    start_time: agent.startTime,
    capabilities: [],
    resources: { cpus: 0, mem: 0, disk: 0, gpus: 0 },
    attributes: {},
    flags,
    frameworks: [
      {
        id: FRAMEWORK_ID,
        name: 'corral',
        user: 'root',
        role: '*',
        hostname: agent.hostname,
        checkpoint: true,
        executors: lazyMap(running, view),
        completed_executors: lazyMap(terminated, view),
      },
    ],
    completed_frameworks: [],
  };
}

/** A task of `GET_STATE`. */
function v1Task(record: ContainerRecord, agentId: string) {
  return {
    name: record.key,
    task_id: { value: record.key },
    framework_id: { value: FRAMEWORK_ID },
    agent_id: { value: agentId },
    executor_id: { value: record.key },
    state: record.state,
    resources: record.launch.resources ?? [],
    // The v1 API keeps executor_pid in container_status; only /state drops it.
    statuses: record.statuses.map((entry) => ({
      ...statusView(entry, record),
      ...(entry.container_status ? { container_status: entry.container_status } : {}),
    })),
  };
}

function v1Executor(record: ContainerRecord) {
  return {
    executor_info: {
      executor_id: { value: record.key },
      framework_id: { value: FRAMEWORK_ID },
      name: `Container ${record.key}`,
      source: record.key,
      ...(record.launch.resources ? { resources: record.launch.resources } : {}),
    },
  };
}

/** `GET_STATE` of the v1 API: the answers of GET_TASKS, GET_EXECUTORS and GET_FRAMEWORKS. */
export interface GetStateView {
  readonly get_tasks: Readonly<Record<string, Iterable<unknown>>>;
  readonly get_executors: Readonly<Record<string, Iterable<unknown>>>;
  readonly get_frameworks: Readonly<Record<string, Iterable<unknown>>>;
}

/** `GET_STATE` of the v1 API; lazy like `stateView`. */
export function getStateView(
  agent: AgentIdentity,
  records: Iterable<ContainerRecord>,
): GetStateView {
  const { running, terminated } = partition(records);
  const task = (record: ContainerRecord) => v1Task(record, agent.id);
  return {
    get_tasks: {
      pending_tasks: [],
      queued_tasks: [],
      launched_tasks: lazyMap(running, task),
      terminated_tasks: [],
      completed_tasks: lazyMap(terminated, task),
    },
    get_executors: {
      executors: lazyMap(running, v1Executor),
      completed_executors: lazyMap(terminated, v1Executor),
    },
    get_frameworks: {
      frameworks: [{ framework_info: frameworkInfo(agent) }],
      completed_frameworks: [],
    },
  };
}

/** One running container with what its isolators report; either report may be missing. */
export interface ContainerReport {
  readonly record: ContainerRecord;
  readonly status?: ContainerStatus;
  readonly statistics?: ResourceStatistics;
}

/** A runtime-socket container's runtime id and bundle, as Mesos-style labels. */
function runtimeLabels(record: ContainerRecord) {
  if (!record.runtime) return {};
  const { id, bundle } = record.runtime;
  return {
    labels: {
      labels: [
        { key: 'corral.runtime.id', value: id },
        { key: 'corral.runtime.bundle', value: bundle },
      ],
    },
  };
}

/** An entry of `GET /containers` (Mesos names the keys `status` and `statistics` here). */
function containersEntry({ record, status, statistics }: ContainerReport) {
  return {
    framework_id: FRAMEWORK_ID,
    executor_id: record.key,
    executor_name: `Container ${record.key}`,
    source: record.key,
    container_id: record.key,
    ...runtimeLabels(record),
    ...(status ? { status } : {}),
    ...(statistics ? { statistics } : {}),
  };
}

/** An entry of `GET_CONTAINERS` of the v1 API. */
function getContainersEntry({ record, status, statistics }: ContainerReport) {
  return {
    framework_id: { value: FRAMEWORK_ID },
    executor_id: { value: record.key },
    executor_name: `Container ${record.key}`,
    container_id: { value: record.id.value },
    ...runtimeLabels(record),
    ...(status ? { container_status: status } : {}),
    ...(statistics ? { resource_statistics: withTimestamp(statistics) } : {}),
  };
}

/** `timestamp` is required in the v1 `ResourceStatistics`; isolators may leave it out. */
function withTimestamp(statistics: ResourceStatistics): ResourceStatistics {
  return { timestamp: Date.now() / 1000, ...statistics };
}

/** An entry of `GET /monitor/statistics` (Mesos: executors with their statistics). */
function monitorEntry(record: ContainerRecord, statistics: ResourceStatistics) {
  return {
    framework_id: FRAMEWORK_ID,
    executor_id: record.key,
    executor_name: `Container ${record.key}`,
    source: record.key,
    statistics: withTimestamp(statistics),
  };
}

/** `GET /monitor/statistics`: containers whose statistics could be read, lazy like `stateView`. */
export function monitorView(reports: readonly ContainerReport[]): Iterable<unknown> {
  return lazyMap(
    reports.filter((report) => report.statistics !== undefined),
    (report) => monitorEntry(report.record, report.statistics as ResourceStatistics),
  );
}

/** `GET /containers`, lazy like `stateView`. */
export function containersView(reports: readonly ContainerReport[]): Iterable<unknown> {
  return lazyMap(reports, containersEntry);
}

/** `GET_CONTAINERS` of the v1 API, lazy like `stateView`. */
export function getContainersView(reports: readonly ContainerReport[]): Iterable<unknown> {
  return lazyMap(reports, getContainersEntry);
}
