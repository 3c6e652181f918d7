import type { ResourceStatistics } from '@corral/core';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ContainerReport } from '../containers/views.ts';
import { mapSliced } from '../http/json-stream.ts';
import { stateLabel } from './agent-metrics.ts';

const LABELS = ['container_id', 'classid'] as const;
type Label = (typeof LABELS)[number];
type Labels = Partial<Record<Label, string>>;

/** A per-container family: cAdvisor's name where cAdvisor has one, `corral_` where it has not. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: (report: ContainerReport) => number | undefined;
}

const usage =
  (field: keyof ResourceStatistics) =>
  ({ statistics }: ContainerReport): number | undefined =>
    statistics?.[field];

/** cAdvisor's network families and the ResourceStatistics fields they come from. */
const NETWORK: readonly Family[] = (['receive', 'transmit'] as const).flatMap((direction) => {
  const prefix = direction === 'receive' ? 'net_rx' : 'net_tx';
  const fields = {
    bytes: 'bytes',
    packets: 'packets',
    errors: 'errors',
    packets_dropped: 'dropped',
  };
  return Object.entries(fields).map(
    ([what, field]): Family => ({
      name: `container_network_${direction}_${what}_total`,
      help: `Network ${what.replace('_', ' ')} ${direction === 'receive' ? 'received' : 'transmitted'}, where an isolator counts them.`,
      type: 'counter',
      value: usage(`${prefix}_${field}` as keyof ResourceStatistics),
    }),
  );
});

const CONTAINER_FAMILIES: readonly Family[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'CPU time consumed, user and system.',
    type: 'counter',
    value: ({ statistics: s }) =>
      s?.cpus_user_time_secs === undefined && s?.cpus_system_time_secs === undefined
        ? undefined
        : (s.cpus_user_time_secs ?? 0) + (s.cpus_system_time_secs ?? 0),
  },
  {
    name: 'container_cpu_user_seconds_total',
    help: 'CPU time consumed in user mode.',
    type: 'counter',
    value: usage('cpus_user_time_secs'),
  },
  {
    name: 'container_cpu_system_seconds_total',
    help: 'CPU time consumed in kernel mode.',
    type: 'counter',
    value: usage('cpus_system_time_secs'),
  },
  {
    name: 'container_cpu_cfs_periods_total',
    help: 'Elapsed CFS enforcement periods.',
    type: 'counter',
    value: usage('cpus_nr_periods'),
  },
  {
    name: 'container_cpu_cfs_throttled_periods_total',
    help: 'CFS periods in which the container was throttled.',
    type: 'counter',
    value: usage('cpus_nr_throttled'),
  },
  {
    name: 'container_cpu_cfs_throttled_seconds_total',
    help: 'Time the container was throttled by its CFS quota.',
    type: 'counter',
    value: usage('cpus_throttled_time_secs'),
  },
  {
    name: 'container_memory_usage_bytes',
    help: 'Memory charged to the container, cache included (its cgroup).',
    type: 'gauge',
    value: usage('mem_total_bytes'),
  },
  {
    name: 'container_memory_rss_bytes',
    help: 'Resident anonymous memory.',
    type: 'gauge',
    value: usage('mem_rss_bytes'),
  },
  {
    name: 'container_memory_cache_bytes',
    help: 'Page cache charged to the container.',
    type: 'gauge',
    value: usage('mem_cache_bytes'),
  },
  {
    name: 'container_memory_swap_bytes',
    help: 'Swap used.',
    type: 'gauge',
    value: usage('mem_swap_bytes'),
  },
  {
    name: 'container_spec_memory_limit_bytes',
    help: 'Memory limit.',
    type: 'gauge',
    value: usage('mem_limit_bytes'),
  },
  {
    name: 'container_processes',
    help: 'Processes in the container.',
    type: 'gauge',
    value: usage('processes'),
  },
  {
    name: 'container_threads',
    help: 'Threads in the container.',
    type: 'gauge',
    value: usage('threads'),
  },
  ...NETWORK,
  {
    name: 'container_start_time_seconds',
    help: 'When the launch was accepted, in seconds since the epoch.',
    type: 'gauge',
    value: ({ record }) => record.created_at,
  },
  {
    name: 'corral_container_exit_time_seconds',
    help: 'When a terminated container terminated, in seconds since the epoch.',
    type: 'gauge',
    value: ({ record }) => record.terminated_at,
  },
  {
    name: 'container_oom_events_total',
    help: 'OOM kills: 1 once the memory limit killed the container.',
    type: 'counter',
    value: ({ record }) =>
      record.termination?.reason === 'REASON_CONTAINER_LIMITATION_MEMORY' ? 1 : 0,
  },
];

/** The classid of a running container, else the last one its statuses reported. */
function classid({ record, status }: ContainerReport): number | undefined {
  return (
    status?.cgroup_info?.net_cls?.classid ??
    record.statuses.findLast((entry) => entry.container_status?.cgroup_info?.net_cls?.classid)
      ?.container_status?.cgroup_info?.net_cls?.classid
  );
}

/** `0xAAAABBBB`, as `corral ps` and nft users write it. */
function classidLabel(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/**
 * The per-container series, labelled `container_id` (and `classid` where net_cls manages one), in
 * a registry of their own: it is refilled from the containers' reports at every scrape, so a
 * removed container's series vanish with it.
 */
export class ContainerSeries {
  readonly registry = new Registry();
  private readonly writers: ((report: ContainerReport, labels: Labels) => void)[];
  private readonly state = new Gauge({
    name: 'corral_container_state',
    help: "1 for the container's current state (running, finished, failed, killed, lost, …).",
    labelNames: [...LABELS, 'state'],
    registers: [this.registry],
  });

  constructor() {
    this.writers = CONTAINER_FAMILIES.map((family) => {
      const options = {
        name: family.name,
        help: family.help,
        labelNames: LABELS,
        registers: [this.registry],
      };
      if (family.type === 'counter') {
        const counter = new Counter(options);
        return (report, labels) => {
          const value = family.value(report);
          if (value !== undefined) counter.inc(labels, value);
        };
      }
      const gauge = new Gauge(options);
      return (report, labels) => {
        const value = family.value(report);
        if (value !== undefined) gauge.set(labels, value);
      };
    });
  }

  /** Replaces every series with those of `reports`, in slices (10,000 containers take ~100 ms). */
  async fill(reports: Iterable<ContainerReport>): Promise<void> {
    this.registry.resetMetrics();
    await mapSliced(reports, (report) => {
      const id = classid(report);
      const labels: Labels = {
        container_id: report.record.key,
        ...(id === undefined ? {} : { classid: classidLabel(id) }),
      };
      this.state.set({ ...labels, state: stateLabel(report.record.state) }, 1);
      for (const write of this.writers) write(report, labels);
    });
  }
}
