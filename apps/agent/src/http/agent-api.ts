import type { ContainerID, ContainerTermination } from '@corral/core';
import type { MessageObject } from '../api/protobuf.ts';
import type { LogChunk, LogStream } from '../containers/logs.ts';
import type { LaunchCall } from '../containers/registry.ts';
import type { KillOutcome, RemoveOutcome } from '../containers/service.ts';
import type { GetStateView } from '../containers/views.ts';
import type { SandboxFiles } from '../files/sandbox-files.ts';

/** `/containers` query filters (Mesos §6.3). */
export interface ContainersFilter {
  readonly container_id?: string;
  readonly framework_id?: string;
  readonly executor_id?: string;
}

/** What the HTTP routes need from the agent; `createAgent` implements it. */
export interface AgentApi {
  /** False until start-up recovery is done: /state and /api/v1 answer 503 until then. */
  isRecovered(): boolean;
  version(): { readonly version: string };
  /** `AgentInfo` of the v1 API (hostname, port, the persisted agent id). */
  agentInfo(): MessageObject;
  flags(): Readonly<Record<string, string>>;
  /** The JSON-able answers below may hold iterables, written as arrays (`jsonStream`). */
  state(): unknown;
  /** `GET_STATE`; its three parts are also `GET_TASKS`, `GET_EXECUTORS`, `GET_FRAMEWORKS`. */
  getState(): GetStateView;
  containers(filter: ContainersFilter): Promise<Iterable<unknown>>;
  getContainers(): Promise<Iterable<unknown>>;
  /** `/monitor/statistics`: one entry per running container that reported statistics. */
  monitorStatistics(): Promise<Iterable<unknown>>;
  /** `/containerizer/debug`: launches and destroys in progress. */
  containerizerDebug(): { readonly pending: readonly unknown[] };
  metricsSnapshot(): Readonly<Record<string, number>>;
  /** glog-style verbosity: 0 is the configured level, higher is more verbose. */
  loggingLevel(): number;
  /** Raises (or sets) the verbosity for `durationMs`, then goes back to 0. */
  setLoggingLevel(level: number, durationMs: number): void;
  /** The sandboxes and the agent log, read-only, under Mesos' virtual paths. */
  readonly files: SandboxFiles;
  prometheus(): Promise<string>;
  launch(call: LaunchCall): Promise<'launched' | 'already_launched'>;
  wait(id: ContainerID): Promise<ContainerTermination> | undefined;
  kill(id: ContainerID, signal: number): KillOutcome;
  remove(id: ContainerID): Promise<RemoveOutcome>;
  /**
   * Bytes of a known container's `stdout` or `stderr` from `offset` (capped per call), while its
   * sandbox exists, i.e. until REMOVE_CONTAINER; undefined for an unknown id.
   */
  readLog(id: ContainerID, stream: LogStream, offset: number): Promise<LogChunk> | undefined;
}
