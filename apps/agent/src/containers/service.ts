import type { ContainerEvent, Containerizer, RecoveryResult } from '@corral/containerizer';
import {
  type ContainerID,
  type ContainerTermination,
  containerIdToString,
  type Logger,
} from '@corral/core';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import {
  type ContainerRecord,
  type ContainerRegistry,
  isTerminal,
  type LaunchCall,
  type RuntimeOrigin,
  type TaskStatusEntry,
} from './registry.ts';
import { Semaphore } from './semaphore.ts';

export type KillOutcome = 'signalled' | 'unknown';

/**
 * Launches processed at once. More adds no throughput on a small machine (each launch is mostly
 * CPU on the event loop and in the kernel) but queues every other request behind a burst: with
 * 100 at once, /health waited 330 ms at p99.
 */
const MAX_CONCURRENT_LAUNCHES = 8;
export type RemoveOutcome = 'removed' | 'unknown' | 'running';

/**
 * The agent's container operations: ties the containerizer's lifecycle to the task records that
 * /state shows, and keeps the metrics. HTTP-agnostic.
 */
export class ContainerService {
  private readonly containerizer: Containerizer;
  private readonly registry: ContainerRegistry;
  private readonly metrics: AgentMetrics;
  private readonly logger: Logger;
  /** Status lookups in flight, so a launch answers only once /state can show its status. */
  private readonly statusFills = new Map<string, Promise<void>>();
  private readonly launchSlots = new Semaphore(MAX_CONCURRENT_LAUNCHES);
  /** Ids of launches waiting for a slot: a second launch of one is a duplicate too. */
  private readonly queued = new Set<string>();

  constructor(deps: {
    containerizer: Containerizer;
    registry: ContainerRegistry;
    metrics: AgentMetrics;
    logger: Logger;
  }) {
    this.containerizer = deps.containerizer;
    this.registry = deps.registry;
    this.metrics = deps.metrics;
    this.logger = deps.logger;
    this.containerizer.onEvent((event) => this.onEvent(event));
  }

  private onEvent(event: ContainerEvent): void {
    const record = this.registry.get(event.id);
    if (!record || isTerminal(record.state)) return;
    // One info line when the command runs; the containerizer logs the termination. The steps in
    // between are for debugging (seven lines per container cost ~5% of the agent's CPU at 400/s).
    const fields = { container: record.key, state: event.to };
    if (event.to === 'RUNNING') this.logger.info('container state changed', fields);
    else this.logger.debug('container state changed', fields);
    if (event.to === 'ISOLATING') {
      // Filled with RUNNING's lookup: a status call here would sit on the launch path.
      this.registry.addStatus(record, 'TASK_STARTING');
    } else if (event.to === 'RUNNING' && record.state !== 'TASK_RUNNING') {
      // Persisted once filled, so a restarted agent shows the same statuses.
      this.fillStatus(record, this.registry.addStatus(record, 'TASK_RUNNING'), true);
    } else if (event.to === 'TERMINATED') {
      if (event.destroyFailures.length > 0) this.metrics.destroyErrors += 1;
      this.registry.terminate(record, event.termination, event.termination.state ?? 'TASK_FAILED');
    }
  }

  /** Sets `entry`'s container_status, and that of earlier statuses still without one. */
  private fillStatus(record: ContainerRecord, entry: TaskStatusEntry, persist = false): void {
    const fill = this.containerizer.status(record.id).then(
      (status) => {
        for (const earlier of record.statuses) {
          if (earlier === entry) break;
          earlier.container_status ??= status;
        }
        entry.container_status = status;
        if (persist && !isTerminal(record.state)) this.registry.save(record);
      },
      () => undefined, // Destroyed meanwhile: the terminal status reuses the last known one.
    );
    this.statusFills.set(record.key, fill);
    void fill.then(() => {
      if (this.statusFills.get(record.key) === fill) this.statusFills.delete(record.key);
    });
  }

  /** Resolves once every status lookup in flight has landed in its record. */
  async settled(): Promise<void> {
    await Promise.all(this.statusFills.values());
  }

  /**
   * After the containerizer recovered: records of containers that are gone without a trace (the
   * runtime dir was lost, e.g. by a reboot) become TASK_LOST.
   */
  reconcile(result: RecoveryResult): void {
    const recovered = new Set(result.recovered.map((id) => containerIdToString(id)));
    for (const record of [...this.registry.all()]) {
      if (isTerminal(record.state)) continue;
      if (recovered.has(record.key)) {
        // Statuses added while recovering were read before the isolators had recovered.
        const last = record.statuses.at(-1);
        if (last) this.fillStatus(record, last, true);
        continue;
      }
      this.logger.warn('container lost while the agent was down', { container: record.key });
      this.registry.terminate(
        record,
        {
          state: 'TASK_LOST',
          message:
            'The container was not found when the agent recovered (its runtime state was lost, e.g. by a reboot)',
        },
        'TASK_LOST',
      );
    }
  }

  async launch(
    call: LaunchCall,
    runtime?: RuntimeOrigin,
  ): Promise<'launched' | 'already_launched'> {
    const key = containerIdToString(call.container_id);
    if (this.registry.get(call.container_id) || this.queued.has(key)) return 'already_launched';
    const started = performance.now();
    // Everything, the record's write included, waits for a slot; the id is reserved meanwhile.
    this.queued.add(key);
    const release = await this.launchSlots.acquire().finally(() => this.queued.delete(key));
    let record: ContainerRecord | undefined;
    try {
      await this.registry.removed(call.container_id);
      record = this.registry.add(call, runtime);
      await this.containerizer.launch(call.container_id, {
        command_info: call.command,
        directory: record.sandbox,
        ...(call.container ? { container_info: call.container } : {}),
        ...(call.resources ? { resources: call.resources } : {}),
        ...(call.limits ? { limits: call.limits } : {}),
      });
    } catch (error) {
      this.metrics.launchErrors += 1;
      // A failed launch leaves nothing: not even a record, so the id can be launched again.
      if (record) await this.registry.remove(record);
      throw error;
    } finally {
      release();
    }
    this.metrics.launches += 1;
    this.metrics.launchLatency.observe((performance.now() - started) / 1000);
    await this.statusFills.get(key);
    return 'launched';
  }

  /** The termination once the container has terminated; undefined for an unknown id. */
  wait(id: ContainerID): Promise<ContainerTermination> | undefined {
    const record = this.registry.get(id);
    if (!record) return undefined;
    if (record.termination) return Promise.resolve(record.termination);
    return this.containerizer.wait(id) ?? undefined;
  }

  kill(id: ContainerID, signal: number): KillOutcome {
    const record = this.registry.get(id);
    if (!record || isTerminal(record.state)) return 'unknown';
    return this.containerizer.kill(id, signal) ? 'signalled' : 'unknown';
  }

  async remove(id: ContainerID): Promise<RemoveOutcome> {
    const record = this.registry.get(id);
    if (!record) return 'unknown';
    if (!isTerminal(record.state)) return 'running';
    await this.registry.remove(record);
    return 'removed';
  }
}
