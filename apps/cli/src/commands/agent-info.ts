import { asMetrics, asState, tasksOf } from '../agent-views.ts';
import { formatDuration } from '../format.ts';
import { type Command, printJson } from './command.ts';

const HANDLES = 'isolator/cgroups/net_cls/handles_';

export const agentInfo: Command = {
  name: 'agent-info',
  summary: "the agent's version, flags, isolators and net_cls handles in use/free",
  usage: 'corral agent-info',
  description: [
    'Shows which agent the CLI talks to: its version, id, uptime, the isolators it loaded',
    '(--isolation), its containers by state, the managed net_cls handles in use and free (from',
    '/metrics/snapshot), and every flag (from /state; secrets are never included).',
  ].join('\n'),
  options: {},
  operands: 'none',
  examples: ['corral --agent http://10.0.0.5:5051 agent-info'],
  async run(context) {
    const [state, metrics] = await Promise.all([
      context.client.getJson('/state').then(asState),
      context.client.getJson('/metrics/snapshot').then(asMetrics),
    ]);
    const flags = state.flags ?? {};
    const isolators = (flags.isolation ?? '').split(',').filter(Boolean);
    const inUse = metrics[`${HANDLES}in_use`];
    const free = metrics[`${HANDLES}free`];
    const handles = inUse === undefined || free === undefined ? null : { in_use: inUse, free };
    const containers: Record<string, number> = {};
    for (const task of tasksOf(state)) containers[task.state] = (containers[task.state] ?? 0) + 1;

    if (context.json) {
      printJson(context, {
        url: context.client.url,
        version: state.version ?? null,
        id: state.id ?? null,
        hostname: state.hostname ?? null,
        start_time: state.start_time ?? null,
        isolators,
        containers,
        net_cls_handles: handles,
        flags,
        metrics,
      });
      return 0;
    }
    const byState = Object.entries(containers)
      .map(([name, count]) => `${count} ${name.replace(/^TASK_/, '').toLowerCase()}`)
      .join(', ');
    const uptime =
      state.start_time === undefined
        ? '-'
        : formatDuration(context.now() / 1000 - state.start_time);
    const rows = [
      ['agent', context.client.url],
      ['version', state.version ?? '-'],
      ['id', state.id ?? '-'],
      ['hostname', state.hostname ?? '-'],
      ['uptime', uptime],
      ['isolators', isolators.join(', ') || '-'],
      ['containers', byState || 'none'],
      [
        'net_cls handles',
        handles
          ? `${handles.in_use} in use, ${handles.free} free`
          : 'not managed (cgroups/net_cls without --cgroups_net_cls_primary_handle, or not loaded)',
      ],
    ];
    const width = Math.max(...rows.map(([label]) => (label ?? '').length));
    const lines = rows.map(([label, value]) => `${(label ?? '').padEnd(width)}  ${value}`);
    const flagLines = Object.entries(flags)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `  --${name}=${value}`);
    context.out.stdout(`${[...lines, 'flags:', ...flagLines].join('\n')}\n`);
    return 0;
  },
};
