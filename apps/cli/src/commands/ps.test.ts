import { describe, expect, it } from 'vitest';
import { asState } from '../agent-views.ts';
import { containerRows, formatRows } from './ps.ts';

const status = (state: string, timestamp: number, classid?: number) => ({
  state,
  timestamp,
  ...(classid === undefined ? {} : { container_status: { cgroup_info: { net_cls: { classid } } } }),
});

const state = asState({
  frameworks: [
    {
      executors: [
        {
          tasks: [
            {
              id: 'web-1',
              state: 'TASK_RUNNING',
              statuses: [status('TASK_STARTING', 1000), status('TASK_RUNNING', 1000.1, 0x190002)],
            },
          ],
        },
      ],
      completed_executors: [
        {
          completed_tasks: [
            {
              id: 'batch',
              state: 'TASK_KILLED',
              statuses: [status('TASK_STARTING', 900), status('TASK_KILLED', 950, 0x190001)],
            },
          ],
        },
      ],
    },
  ],
});

const entries = [
  {
    container_id: 'web-1',
    status: { executor_pid: 4242, cgroup_info: { net_cls: { classid: 0x190002 } } },
    statistics: { cpus_user_time_secs: 1.25, cpus_system_time_secs: 0.5, mem_rss_bytes: 3_300_000 },
  },
];

describe('corral ps', () => {
  it('joins /state and /containers into rows, oldest first', () => {
    expect(containerRows(state, entries)).toEqual([
      {
        id: 'batch',
        state: 'TASK_KILLED',
        pid: null,
        classid: '0x00190001',
        started_at: 900,
        cpu_secs: null,
        mem_rss_bytes: null,
      },
      {
        id: 'web-1',
        state: 'TASK_RUNNING',
        pid: 4242,
        classid: '0x00190002',
        started_at: 1000,
        cpu_secs: 1.75,
        mem_rss_bytes: 3_300_000,
      },
    ]);
  });

  it('prints an aligned table', () => {
    expect(formatRows(containerRows(state, entries), 1187)).toBe(
      [
        'ID     STATE     PID  CLASSID       AGE  CPU(s)      RSS',
        'batch  killed      -  0x00190001  4m47s       -        -',
        'web-1  running  4242  0x00190002  3m07s    1.75  3.1 MiB',
        '',
      ].join('\n'),
    );
  });
});
