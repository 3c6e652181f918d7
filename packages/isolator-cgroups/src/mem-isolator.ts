import type { MemoryController, MemoryLimits } from '@corral/cgroupfs';
import { CgroupError } from '@corral/cgroupfs';
import {
  type ContainerID,
  type ContainerLimitation,
  type ContainerState,
  containerIdToString,
} from '@corral/core';
import { CgroupIsolator, type CgroupIsolatorOptions } from './cgroup-isolator.ts';
import { MB } from './mem.ts';
import { type OomTrigger, startOomTrigger } from './oom-trigger.ts';

interface Watch {
  readonly cgroup: string;
  readonly resolve: (limitation: ContainerLimitation) => void;
}

/** Containers checked per event-loop turn when an OOM kill may have happened somewhere. */
const SCAN_SLICE = 500;

function mb(bytes: number): string {
  return `${Math.round((bytes / MB) * 10) / 10} MB`;
}

/**
 * `cgroups/mem` with OOM kills as limitations: `watch` resolves with
 * `REASON_CONTAINER_LIMITATION_MEMORY` once the kernel's OOM killer has killed a process in the
 * container's cgroup. The OOM trigger says when to look; `cleanup` looks once more before the
 * cgroup goes, because an OOM kill of the command ends the container at once and the destroy it
 * causes can start before the trigger fires (the engine keeps watches open during cleanup).
 */
export class MemIsolator extends CgroupIsolator<MemoryLimits> {
  readonly #controller: MemoryController;
  readonly #trigger: OomTrigger;
  readonly #watches = new Map<string, Watch>();
  /** Containers recovered after a restart: their first watch looks for kills made meanwhile. */
  readonly #recovered = new Set<string>();
  #stopTrigger: (() => void) | undefined;
  #oomLimitations = 0;
  #scanning = false;
  #rescan = false;

  constructor(
    options: CgroupIsolatorOptions<MemoryLimits> & {
      readonly controller: MemoryController;
      readonly trigger: OomTrigger;
    },
  ) {
    super(options);
    this.#controller = options.controller;
    this.#trigger = options.trigger;
  }

  override async recover(
    states: readonly ContainerState[],
    orphans: readonly ContainerID[],
  ): Promise<void> {
    await super.recover(states, orphans);
    for (const state of states) this.#recovered.add(containerIdToString(state.container_id));
  }

  watch(id: ContainerID, signal: AbortSignal): Promise<ContainerLimitation> {
    const { key, cgroup } = this.tracked(id);
    return new Promise((resolve) => {
      const entry: Watch = { cgroup, resolve };
      this.#watches.set(key, entry);
      signal.addEventListener('abort', () => this.#unwatch(key, entry), { once: true });
      this.#stopTrigger ??= startOomTrigger(this.#trigger, () => void this.#scan());
      // A recovered container may have been OOM-killed while the agent was down; a new one has
      // a new cgroup, whose counter is 0 (one read less per launch).
      if (this.#recovered.delete(key)) this.#check(key, entry);
    });
  }

  /** Adds `oom_limitations`: containers failed by an OOM kill since the agent started. */
  override metrics(): Readonly<Record<string, number>> {
    return { ...super.metrics(), oom_limitations: this.#oomLimitations };
  }

  override async cleanup(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    const entry = this.#watches.get(key);
    if (entry !== undefined) this.#check(key, entry);
    await super.cleanup(id);
  }

  #unwatch(key: string, entry: Watch): void {
    if (this.#watches.get(key) !== entry) return;
    this.#watches.delete(key);
    if (this.#watches.size === 0) {
      this.#stopTrigger?.();
      this.#stopTrigger = undefined;
    }
  }

  /** Resolves the watch if the container's cgroup counted an OOM kill. */
  #check(key: string, entry: Watch): void {
    let kills: number;
    try {
      kills = this.#controller.oomKills(entry.cgroup);
    } catch (error) {
      // Gone already (destroyed meanwhile): nothing to report.
      if (error instanceof CgroupError && error.errno === 'ENOENT') return;
      throw error;
    }
    if (kills === 0) return;
    this.#unwatch(key, entry);
    this.#oomLimitations++;
    entry.resolve(this.#limitation(key, entry.cgroup, kills));
  }

  #limitation(key: string, cgroup: string, kills: number): ContainerLimitation {
    const { settings } = this.tracked({ value: key });
    const hard = settings?.hardBytes;
    let peak: number | undefined;
    try {
      peak = this.#controller.peak(cgroup);
    } catch {
      // The limitation matters more than the figure: report it without the peak.
    }
    const message =
      `Memory limit exceeded: the kernel's OOM killer killed ${kills} process(es) in the ` +
      `container; limit ${hard === undefined ? 'none' : mb(hard)}` +
      (peak === undefined ? '' : `, peak usage ${mb(peak)}`);
    this.logger.info('container OOM-killed', { container: key, kills, limit: hard, peak });
    return {
      message,
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      ...(hard === undefined
        ? {}
        : { resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: hard / MB } }] }),
    };
  }

  /** Checks every watched container, a slice per event-loop turn so the loop stays responsive. */
  async #scan(): Promise<void> {
    if (this.#scanning) {
      this.#rescan = true;
      return;
    }
    this.#scanning = true;
    try {
      do {
        this.#rescan = false;
        let checked = 0;
        for (const [key, entry] of [...this.#watches]) {
          this.#check(key, entry);
          if (++checked % SCAN_SLICE === 0) await new Promise((done) => setImmediate(done));
        }
      } while (this.#rescan);
    } catch (error) {
      this.logger.error('OOM check failed', { error: (error as Error).message });
    } finally {
      this.#scanning = false;
    }
  }
}
