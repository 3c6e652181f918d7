import { Histogram } from './histogram.ts';

/** Launch latency buckets, in seconds: from the kernel floor (~1 ms) to pathological. */
const LATENCY_BOUNDS = [0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

/** Counters the agent keeps; gauges (containers by state, isolator gauges) are read on demand. */
export class AgentMetrics {
  readonly startedAt = Date.now();
  launches = 0;
  launchErrors = 0;
  destroyErrors = 0;
  recoverySeconds: number | undefined;
  readonly launchLatency = new Histogram(LATENCY_BOUNDS);
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

function metricName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Prometheus text exposition format (version 0.0.4). */
export function prometheusText({
  metrics,
  containersByState,
  isolatorGauges,
}: MetricsInputs): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  family('corral_containers', 'gauge', 'Containers known to the agent, by state.');
  for (const [state, count] of Object.entries(containersByState)) {
    lines.push(`corral_containers{state="${state}"} ${count}`);
  }
  family('corral_container_launches_total', 'counter', 'Containers launched successfully.');
  lines.push(`corral_container_launches_total ${metrics.launches}`);
  family('corral_container_launch_errors_total', 'counter', 'Launches that failed.');
  lines.push(`corral_container_launch_errors_total ${metrics.launchErrors}`);
  family(
    'corral_container_destroy_errors_total',
    'counter',
    'Destroys that left something behind.',
  );
  lines.push(`corral_container_destroy_errors_total ${metrics.destroyErrors}`);
  family(
    'corral_container_launch_seconds',
    'histogram',
    'From launch request to the command running.',
  );
  const { launchLatency } = metrics;
  launchLatency.bounds.forEach((bound, index) => {
    lines.push(
      `corral_container_launch_seconds_bucket{le="${bound}"} ${launchLatency.counts[index]}`,
    );
  });
  lines.push(`corral_container_launch_seconds_bucket{le="+Inf"} ${launchLatency.count}`);
  lines.push(`corral_container_launch_seconds_sum ${launchLatency.sum}`);
  lines.push(`corral_container_launch_seconds_count ${launchLatency.count}`);
  family('corral_recovery_seconds', 'gauge', 'How long the last start-up recovery took.');
  lines.push(`corral_recovery_seconds ${metrics.recoverySeconds ?? -1}`);
  for (const [isolator, gauges] of Object.entries(isolatorGauges)) {
    for (const [name, value] of Object.entries(gauges)) {
      const metric = `corral_isolator_${metricName(isolator)}_${metricName(name)}`;
      family(metric, 'gauge', `Gauge '${name}' of isolator ${isolator}.`);
      lines.push(`${metric} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
