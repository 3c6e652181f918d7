import { Histogram } from 'prom-client';

/** Launch latency buckets, in seconds: from the kernel floor (~1 ms) to pathological. */
const LATENCY_BOUNDS = [0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/**
 * Launch latency: a prom-client histogram, plus the count and sum kept here so the JSON snapshot
 * reads them without prom-client's asynchronous `get()`.
 */
export class LaunchLatency {
  readonly histogram = new Histogram({
    name: 'corral_container_launch_seconds',
    help: 'From launch request to the command running.',
    buckets: LATENCY_BOUNDS,
    registers: [],
  });
  count = 0;
  sum = 0;

  observe(seconds: number): void {
    this.count += 1;
    this.sum += seconds;
    this.histogram.observe(seconds);
  }
}

/** Counters the agent keeps; gauges (containers by state, isolator gauges) are read on demand. */
export class AgentMetrics {
  readonly startedAt = Date.now();
  launches = 0;
  launchErrors = 0;
  destroyErrors = 0;
  recoverySeconds: number | undefined;
  readonly launchLatency = new LaunchLatency();
}

/** `TASK_RUNNING` → `running`: how metrics name a container's state. */
export function stateLabel(state: string): string {
  return state.replace('TASK_', '').toLowerCase();
}

/** What a scrape needs besides the counters. */
export interface MetricsInputs {
  readonly metrics: AgentMetrics;
  readonly containersByState: Readonly<Record<string, number>>;
  /** Isolator name → its gauges. */
  readonly isolatorGauges: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Flat JSON for /metrics/snapshot and GET_METRICS, Mesos style (`group/name`). */
export function metricsSnapshot({ metrics, containersByState, isolatorGauges }: MetricsInputs) {
  const snapshot: Record<string, number> = {
    'agent/uptime_secs': (Date.now() - metrics.startedAt) / 1000,
    'agent/recovery_secs': metrics.recoverySeconds ?? -1,
    'containerizer/launches': metrics.launches,
    'containerizer/launch_errors': metrics.launchErrors,
    'containerizer/container_destroy_errors': metrics.destroyErrors,
    'containerizer/launch_latency_secs_count': metrics.launchLatency.count,
    'containerizer/launch_latency_secs_sum': metrics.launchLatency.sum,
  };
  for (const [state, count] of Object.entries(containersByState)) {
    snapshot[`containers/${state}`] = count;
  }
  for (const [isolator, gauges] of Object.entries(isolatorGauges)) {
    for (const [name, value] of Object.entries(gauges))
      snapshot[`isolator/${isolator}/${name}`] = value;
  }
  return snapshot;
}
