import type { ContainerID, ContainerTermination } from '@corral/core';
import type { LogChunk, LogStream } from '../containers/logs.ts';
import type { LaunchCall } from '../containers/registry.ts';
import type { KillOutcome, RemoveOutcome } from '../containers/service.ts';

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
  flags(): Readonly<Record<string, string>>;
  /** The JSON-able answers below may hold iterables, written as arrays (`jsonStream`). */
  state(): unknown;
  getState(): unknown;
  containers(filter: ContainersFilter): Promise<Iterable<unknown>>;
  getContainers(): Promise<Iterable<unknown>>;
  metricsSnapshot(): Readonly<Record<string, number>>;
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
