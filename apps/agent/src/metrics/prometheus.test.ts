import { describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../containers/registry.ts';
import type { ContainerReport } from '../containers/views.ts';
import { AgentMetrics, type MetricsInputs } from './agent-metrics.ts';
import { PrometheusMetrics } from './prometheus.ts';

function record(key: string, fields: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: { value: key },
    key,
    launch: { container_id: { value: key }, command: { value: 'true' } },
    sandbox: `/tmp/${key}`,
    created_at: 1_700_000_000,
    state: 'TASK_RUNNING',
    statuses: [],
    ...fields,
  };
}

function exporter(reports: () => ContainerReport[]) {
  const metrics = new AgentMetrics();
  metrics.launches = 3;
  metrics.launchLatency.observe(0.004);
  const inputs = (): MetricsInputs => ({
    metrics,
    containersByState: { running: 1 },
    isolatorGauges: { 'cgroups/net_cls': { handles_in_use: 1 } },
  });
  return new PrometheusMetrics({ metrics, inputs, reports: async () => reports() });
}

const running: ContainerReport = {
  record: record('web'),
  status: { container_id: { value: 'web' }, cgroup_info: { net_cls: { classid: 0x190001 } } },
  statistics: {
    cpus_user_time_secs: 1.5,
    cpus_system_time_secs: 0.25,
    mem_rss_bytes: 4096,
    processes: 2,
    net_tx_bytes: 330,
    net_tx_packets: 10,
  },
};
const oomKilled: ContainerReport = {
  record: record('hog', {
    state: 'TASK_FAILED',
    terminated_at: 1_700_000_100,
    termination: { reason: 'REASON_CONTAINER_LIMITATION_MEMORY', message: 'OOM' },
  }),
};

describe('PrometheusMetrics', () => {
  it("exports the agent's series, the runtime's and one set per container", async () => {
    const text = await exporter(() => [running, oomKilled]).text();
    const web = 'container_id="web",classid="0x00190001"';
    for (const line of [
      'corral_container_launches_total 3',
      'corral_container_launch_seconds_bucket{le="0.005"} 1',
      'corral_containers{state="running"} 1',
      'corral_isolator_cgroups_net_cls_handles_in_use 1',
      `container_cpu_usage_seconds_total{${web}} 1.75`,
      `container_cpu_user_seconds_total{${web}} 1.5`,
      `container_memory_rss_bytes{${web}} 4096`,
      `container_processes{${web}} 2`,
      `container_network_transmit_bytes_total{${web}} 330`,
      `container_network_transmit_packets_total{${web}} 10`,
      `corral_container_state{${web},state="running"} 1`,
      `container_oom_events_total{${web}} 0`,
      'corral_container_state{container_id="hog",state="failed"} 1',
      'container_oom_events_total{container_id="hog"} 1',
      'corral_container_exit_time_seconds{container_id="hog"} 1700000100',
      'container_start_time_seconds{container_id="hog"} 1700000000',
    ]) {
      expect(text).toContain(`\n${line}\n`);
    }
    expect(text).toMatch(/\nprocess_resident_memory_bytes \d+\n/);
    expect(text).toMatch(/\nnodejs_eventloop_lag_seconds [\d.e-]+\n/);
    // Figures a container's isolators do not report are left out, not written as 0.
    expect(text).not.toContain('container_network_receive_bytes_total{');
    expect(text).not.toContain('container_cpu_usage_seconds_total{container_id="hog"');
  });

  it("drops a removed container's series at the next scrape, and shares a scrape in flight", async () => {
    let reports = [running, oomKilled];
    let calls = 0;
    const metrics = exporter(() => {
      calls += 1;
      return reports;
    });
    const [first, second] = await Promise.all([metrics.text(), metrics.text()]);
    expect(second).toBe(first);
    expect(calls).toBe(1);
    reports = [running];
    expect(await metrics.text()).not.toContain('container_id="hog"');
  });
});
