import { describe, expect, it } from 'vitest';
import type { StatisticsJson } from '../agent-views.ts';
import type { ContainerRow } from './ps.ts';
import { formatTop, topRows } from './top.ts';

const row = (id: string, state = 'TASK_RUNNING'): ContainerRow => ({
  id,
  state,
  pid: 100,
  classid: '0x00190001',
  started_at: 1000,
  cpu_secs: null,
  mem_rss_bytes: 4_718_592,
});

const sampleOf = (usage: Record<string, StatisticsJson>, rows = [row('web'), row('quiet')]) => ({
  rows,
  usage: new Map(Object.entries(usage)),
});

describe('corral top rows', () => {
  const before = sampleOf({
    web: { timestamp: 100, cpus_user_time_secs: 1, cpus_system_time_secs: 0.5, net_tx_bytes: 1000 },
    quiet: { timestamp: 100, cpus_user_time_secs: 2, processes: 1 },
  });
  const after = sampleOf({
    web: {
      timestamp: 102,
      cpus_user_time_secs: 2.5,
      cpus_system_time_secs: 0.5,
      net_tx_bytes: 5096,
      processes: 3,
    },
    quiet: { timestamp: 102, cpus_user_time_secs: 2, processes: 1 },
  });

  it('computes CPU % and transmit rates between two samples, from the agent timestamps', () => {
    const [web, quiet] = topRows(before, after);
    expect(web).toEqual({
      id: 'web',
      state: 'TASK_RUNNING',
      classid: '0x00190001',
      cpu_percent: 75,
      mem_rss_bytes: 4_718_592,
      processes: 3,
      net_tx_bytes_per_sec: 2048,
    });
    // No traffic figure from its isolators: no rate rather than 0.
    expect(quiet).toMatchObject({ cpu_percent: 0, net_tx_bytes_per_sec: null });
  });

  it('has no rates before a second sample, nor for a container that is new', () => {
    expect(topRows(undefined, after)[0]).toMatchObject({ cpu_percent: null, processes: 3 });
    const later = sampleOf({ fresh: { timestamp: 104, cpus_user_time_secs: 1 } }, [row('fresh')]);
    expect(topRows(after, later)[0]).toMatchObject({ id: 'fresh', cpu_percent: null });
  });

  it('prints an aligned table with - where a figure is missing', () => {
    expect(formatTop(topRows(before, after))).toBe(
      [
        'ID     STATE    CLASSID     CPU %      RSS  PROCS   NET TX/s',
        'web    running  0x00190001   75.0  4.5 MiB      3  2.0 KiB/s',
        'quiet  running  0x00190001    0.0  4.5 MiB      1          -',
        '',
      ].join('\n'),
    );
  });
});
