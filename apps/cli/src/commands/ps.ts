import {
  asContainers,
  asState,
  type ContainerEntryJson,
  entryClassid,
  type StateJson,
  type StatisticsJson,
  taskClassid,
  tasksOf,
} from '../agent-views.ts';
import type { AgentClient } from '../client.ts';
import { formatBytes, formatClassid, formatDuration, formatTable } from '../format.ts';
import { type Command, printJson } from './command.ts';

/** One row of `corral ps`; null where the agent reports nothing (e.g. a terminated container). */
export interface ContainerRow {
  readonly id: string;
  readonly state: string;
  readonly pid: number | null;
  readonly classid: string | null;
  /** Seconds since the epoch, from the container's first status. */
  readonly started_at: number | null;
  readonly cpu_secs: number | null;
  readonly mem_rss_bytes: number | null;
}

/** User + system CPU seconds, or undefined when the agent reports neither. */
export function cpuSeconds(statistics: StatisticsJson | undefined): number | undefined {
  const user = statistics?.cpus_user_time_secs;
  const system = statistics?.cpus_system_time_secs;
  if (user === undefined && system === undefined) return undefined;
  return (user ?? 0) + (system ?? 0);
}

function roundedMillis(seconds: number | undefined): number | null {
  return seconds === undefined ? null : Math.round(seconds * 1000) / 1000;
}

/** Joins /state (every container and its state) with /containers (pid and usage of running ones). */
export function containerRows(
  state: StateJson,
  entries: readonly ContainerEntryJson[],
): ContainerRow[] {
  const running = new Map(entries.map((entry) => [entry.container_id, entry]));
  return tasksOf(state)
    .map((task) => {
      const entry = running.get(task.id);
      const classid = (entry && entryClassid(entry)) ?? taskClassid(task);
      return {
        id: task.id,
        state: task.state,
        pid: entry?.status?.executor_pid ?? null,
        classid: classid === undefined ? null : formatClassid(classid),
        started_at: task.statuses[0]?.timestamp ?? null,
        cpu_secs: roundedMillis(cpuSeconds(entry?.statistics)),
        mem_rss_bytes: entry?.statistics?.mem_rss_bytes ?? null,
      };
    })
    .sort((a, b) => (a.started_at ?? 0) - (b.started_at ?? 0));
}

/** Every container the agent knows, as `ps` rows, and the /containers entries of running ones. */
export async function listContainers(client: AgentClient) {
  const [state, entries] = await Promise.all([
    client.getJson('/state').then(asState),
    client.getJson('/containers').then(asContainers),
  ]);
  return { rows: containerRows(state, entries), entries };
}

/** The table `corral ps` prints; `now` in seconds since the epoch. */
export function formatRows(rows: readonly ContainerRow[], now: number): string {
  return formatTable(
    [
      { header: 'ID' },
      { header: 'STATE' },
      { header: 'PID', align: 'right' },
      { header: 'CLASSID' },
      { header: 'AGE', align: 'right' },
      { header: 'CPU(s)', align: 'right' },
      { header: 'RSS', align: 'right' },
    ],
    rows.map((row) => [
      row.id,
      row.state.replace(/^TASK_/, '').toLowerCase(),
      row.pid === null ? '-' : String(row.pid),
      row.classid ?? '-',
      row.started_at === null ? '-' : formatDuration(now - row.started_at),
      row.cpu_secs === null ? '-' : row.cpu_secs.toFixed(2),
      row.mem_rss_bytes === null ? '-' : formatBytes(row.mem_rss_bytes),
    ]),
  );
}

export const ps: Command = {
  name: 'ps',
  summary: 'list containers: id, state, pid, classid, age, CPU seconds, RSS',
  usage: 'corral ps',
  description: [
    'Lists the containers the agent knows: running ones, and terminated ones until `corral rm`.',
    "PID is the container's init, CLASSID its net_cls classid (0xAAAABBBB), CPU(s) user+system",
    'seconds, RSS its resident memory. With --json: an array of objects with the same fields.',
  ].join('\n'),
  options: {},
  operands: 'none',
  examples: [
    'corral ps',
    'corral ps --json | jq -r \'.[] | select(.state == "TASK_RUNNING") | .id\'',
  ],
  async run(context) {
    const { rows } = await listContainers(context.client);
    if (context.json) printJson(context, rows);
    else context.out.stdout(formatRows(rows, context.now() / 1000));
    return 0;
  },
};
