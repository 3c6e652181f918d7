import type { ContainerEntryJson, StatisticsJson } from '../agent-views.ts';
import { UsageError } from '../errors.ts';
import { formatBytes, formatTable } from '../format.ts';
import {
  type Command,
  type CommandContext,
  printJson,
  stringOption,
  type Terminal,
} from './command.ts';
import { type ContainerRow, cpuSeconds, listContainers } from './ps.ts';

/** What one look at the agent saw. */
interface Sample {
  readonly rows: readonly ContainerRow[];
  readonly usage: ReadonlyMap<string, StatisticsJson>;
}

/** One row of `corral top`; rates are null until two samples of the container exist. */
export interface TopRow {
  readonly id: string;
  readonly state: string;
  readonly classid: string | null;
  /** 100 is one core busy. */
  readonly cpu_percent: number | null;
  readonly mem_rss_bytes: number | null;
  readonly processes: number | null;
  /** Null also where no isolator counts the container's traffic. */
  readonly net_tx_bytes_per_sec: number | null;
}

const DEFAULT_INTERVAL_SECONDS = 1;
// Alternate screen and hidden cursor while live, as top(1) does; both restored on the way out.
const ENTER_SCREEN = '\u001b[?1049h\u001b[?25l';
const LEAVE_SCREEN = '\u001b[?25h\u001b[?1049l';
const HOME_AND_CLEAR = '\u001b[H\u001b[2J';
const QUIT_KEYS = new Set(['q', 'Q', '\u0003']);

async function sample(context: CommandContext): Promise<Sample> {
  const { rows, entries } = await listContainers(context.client);
  return {
    rows,
    usage: new Map(
      entries.map((entry: ContainerEntryJson) => [entry.container_id, entry.statistics ?? {}]),
    ),
  };
}

/** Rows of `current`, with per-second rates against `previous` where both have the figure. */
export function topRows(previous: Sample | undefined, current: Sample): TopRow[] {
  return current.rows.map((row) => {
    const now = current.usage.get(row.id);
    const before = previous?.usage.get(row.id);
    const rate = (read: (statistics: StatisticsJson) => number | undefined): number | null => {
      if (!now || !before || now.timestamp === undefined || before.timestamp === undefined)
        return null;
      const [from, to] = [read(before), read(now)];
      const seconds = now.timestamp - before.timestamp;
      if (from === undefined || to === undefined || seconds <= 0) return null;
      return Math.max(0, (to - from) / seconds);
    };
    const cpu = rate(cpuSeconds);
    return {
      id: row.id,
      state: row.state,
      classid: row.classid,
      cpu_percent: cpu === null ? null : Math.round(cpu * 1000) / 10,
      mem_rss_bytes: row.mem_rss_bytes,
      processes: now?.processes ?? null,
      net_tx_bytes_per_sec: rate((statistics) => statistics.net_tx_bytes),
    };
  });
}

export function formatTop(rows: readonly TopRow[]): string {
  return formatTable(
    [
      { header: 'ID' },
      { header: 'STATE' },
      { header: 'CLASSID' },
      { header: 'CPU %', align: 'right' },
      { header: 'RSS', align: 'right' },
      { header: 'PROCS', align: 'right' },
      { header: 'NET TX/s', align: 'right' },
    ],
    rows.map((row) => [
      row.id,
      row.state.replace(/^TASK_/, '').toLowerCase(),
      row.classid ?? '-',
      row.cpu_percent === null ? '-' : row.cpu_percent.toFixed(1),
      row.mem_rss_bytes === null ? '-' : formatBytes(row.mem_rss_bytes),
      row.processes === null ? '-' : String(row.processes),
      row.net_tx_bytes_per_sec === null ? '-' : `${formatBytes(row.net_tx_bytes_per_sec)}/s`,
    ]),
  );
}

function intervalMs(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_INTERVAL_SECONDS * 1000;
  const seconds = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(seconds) || seconds < 0.1) {
    throw new UsageError(`--interval '${raw}' is not a number of seconds, at least 0.1`);
  }
  return seconds * 1000;
}

/** Redraws until a quit key; the screen is restored however the loop ends. */
async function live(context: CommandContext, terminal: Terminal, interval: number) {
  let quit = false;
  let wake = () => {};
  const release = terminal.readKeys((key) => {
    if (!QUIT_KEYS.has(key)) return;
    quit = true;
    wake();
  });
  context.out.stdout(ENTER_SCREEN);
  try {
    let previous: Sample | undefined;
    while (!quit) {
      const current = await sample(context);
      const clock = new Date(context.now()).toTimeString().slice(0, 8);
      context.out.stdout(
        `${HOME_AND_CLEAR}corral top  ${context.client.url}  ${clock}  ${current.rows.length} container${current.rows.length === 1 ? '' : 's'}  (q quits)\n\n${formatTop(topRows(previous, current))}`,
      );
      previous = current;
      // Cancelled by a quit key, so quitting never waits out the interval.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    release();
    context.out.stdout(LEAVE_SCREEN);
  }
}

export const top: Command = {
  name: 'top',
  summary: 'a live table of containers: CPU %, memory, processes, network; q quits',
  usage: 'corral top [--interval SECONDS]',
  description: [
    'Redraws a table of the containers every --interval seconds (default 1), like docker stats:',
    'state, classid, CPU % (100 is one core) and network transmit rate between two looks, RSS and',
    'processes. q or Ctrl-C quits. When stdout is not a terminal, or with --json, it prints one',
    'snapshot, taken --interval seconds apart so the rates are real, and exits.',
  ].join('\n'),
  options: {
    interval: { type: 'string', value: 'SECONDS', description: 'time between looks (default 1)' },
  },
  operands: 'none',
  examples: ['corral top', "corral top --json | jq '.[] | select(.cpu_percent > 50) | .id'"],
  async run(context, args) {
    const interval = intervalMs(stringOption(args, 'interval'));
    if (context.terminal && !context.json) {
      await live(context, context.terminal, interval);
      return 0;
    }
    const first = await sample(context);
    await context.sleep(interval);
    const rows = topRows(first, await sample(context));
    if (context.json) printJson(context, rows);
    else context.out.stdout(formatTop(rows));
    return 0;
  },
};
