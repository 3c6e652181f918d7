import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ContainerReport } from '../containers/views.ts';
import { SLICE_MS } from '../http/json-stream.ts';
import type { AgentMetrics, MetricsInputs } from './agent-metrics.ts';
import { ContainerSeries } from './container-series.ts';

/**
 * prom-client's gauges that end in `_total`, which `promtool check metrics` flags (only counters
 * may); prom-client exports the same figures by type under names without it.
 */
const LINT_FLAGGED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

function metricName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_]/g, '_');
}

export interface PrometheusSources {
  readonly metrics: AgentMetrics;
  /** Containers by state and the isolators' gauges, read once per scrape. */
  readonly inputs: () => MetricsInputs;
  /** Every known container: running ones with status and usage, terminated ones bare. */
  readonly reports: () => Promise<Iterable<ContainerReport>>;
}

/**
 * `/metrics` with prom-client: the agent's counters and gauges, the process and Node runtime
 * (CPU, RSS, event-loop lag, GC), and the per-container series.
 */
export class PrometheusMetrics {
  private readonly registry = new Registry();
  private readonly containers = new ContainerSeries();
  private readonly isolatorGauges = new Map<string, Gauge>();
  private readonly sources: PrometheusSources;
  private current: MetricsInputs | undefined;
  /** A scrape in progress: concurrent scrapes share it rather than refill the series under it. */
  private scrape: Promise<string> | undefined;

  constructor(sources: PrometheusSources) {
    this.sources = sources;
    const { registry } = this;
    collectDefaultMetrics({ register: registry });
    for (const name of LINT_FLAGGED) registry.removeSingleMetric(name);
    const inputs = () => {
      this.current ??= sources.inputs();
      return this.current;
    };
    const counter = (name: string, help: string, read: (metrics: AgentMetrics) => number) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read(sources.metrics));
        },
      });
    counter(
      'corral_container_launches_total',
      'Containers launched successfully.',
      (m) => m.launches,
    );
    counter('corral_container_launch_errors_total', 'Launches that failed.', (m) => m.launchErrors);
    counter(
      'corral_container_destroy_errors_total',
      'Destroys that left something behind.',
      (m) => m.destroyErrors,
    );
    registry.registerMetric(sources.metrics.launchLatency.histogram);
    new Gauge({
      name: 'corral_recovery_seconds',
      help: 'How long the last start-up recovery took (-1 while recovering).',
      registers: [registry],
      collect() {
        this.set(sources.metrics.recoverySeconds ?? -1);
      },
    });
    new Gauge({
      name: 'corral_containers',
      help: 'Containers known to the agent, by state.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [state, count] of Object.entries(inputs().containersByState)) {
          this.set({ state }, count);
        }
      },
    });
  }

  /** The exposition text (format 0.0.4). */
  text(): Promise<string> {
    this.scrape ??= this.build().finally(() => {
      this.scrape = undefined;
      this.current = undefined;
    });
    return this.scrape;
  }

  private async build(): Promise<string> {
    this.current = this.sources.inputs();
    this.updateIsolatorGauges(this.current);
    await this.containers.fill(await this.sources.reports());
    // One family at a time, with turns between stretches: 10,000 containers make ~25 families
    // of 10,000 lines each.
    const parts: string[] = [];
    let sliceStart = performance.now();
    for (const registry of [this.registry, this.containers.registry]) {
      for (const metric of registry.getMetricsAsArray()) {
        parts.push(await registry.getSingleMetricAsString(metric.name));
        if (performance.now() - sliceStart > SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
        }
      }
    }
    return `${parts.join('\n\n')}\n`;
  }

  /** Isolators report gauges by name at run time; each gets its family when first seen. */
  private updateIsolatorGauges({ isolatorGauges }: MetricsInputs): void {
    for (const [isolator, gauges] of Object.entries(isolatorGauges)) {
      for (const [name, value] of Object.entries(gauges)) {
        const metric = `corral_isolator_${metricName(isolator)}_${metricName(name)}`;
        let gauge = this.isolatorGauges.get(metric);
        if (!gauge) {
          gauge = new Gauge({
            name: metric,
            help: `Gauge '${name}' of isolator ${isolator}.`,
            registers: [this.registry],
          });
          this.isolatorGauges.set(metric, gauge);
        }
        gauge.set(value);
      }
    }
  }
}
