// Writes bench/results/latest.json (every number) and BENCHMARKS.md (tables, the issue's targets
// with the measured ratios, met or missed). The prose at the top is the hand-written part.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LatencySummary } from '@corral/test-support/bench';
import { ISOLATION, PRIMARY_HANDLE } from './agent-process.ts';
import type { BenchConfig } from './config.ts';
import type { HandlesResult } from './handles.ts';
import type { LatencyResult } from './launch-latency.ts';
import { REFERENCE_LABELS, type ReferenceName } from './references.ts';
import { ENDPOINTS, type ScaleResult } from './scale.ts';
import type { LeakReport, MachineInfo } from './setup.ts';
import { CYCLE_CALLS, type ThroughputResult } from './throughput.ts';

export interface BenchResults {
  readonly machine: MachineInfo;
  readonly config: Omit<BenchConfig, 'cpuProfDir' | 'full'>;
  readonly setup: {
    readonly runtimeDir: string;
    readonly workDir: string;
    readonly staticBinaries: boolean;
    readonly notes: readonly string[];
  };
  readonly latency?: LatencyResult;
  readonly throughput?: ThroughputResult;
  readonly scale?: ScaleResult;
  /** Scenario 6: scale at several sizes, from this run or the last run that measured it. */
  readonly scaleCurve?: ScaleCurve;
  readonly handles?: HandlesResult;
  readonly targets: readonly TargetResult[];
  readonly leaks?: LeakReport;
  /** Scenarios that did not run, with the reason. */
  readonly skipped: Readonly<Record<string, string>>;
  readonly durationSeconds: number;
}

export interface ScaleCurve {
  /** When it was measured (a full run without the curve carries the last one over). */
  readonly date: string;
  readonly points: readonly ScaleResult[];
}

/** The curve of an earlier run's results, or nothing when there is none (or no file). */
export function previousCurve(latestJson: string): { scaleCurve?: ScaleCurve } {
  try {
    const previous = JSON.parse(readFileSync(latestJson, 'utf8')) as Partial<BenchResults>;
    return previous.scaleCurve ? { scaleCurve: previous.scaleCurve } : {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

export interface TargetResult {
  readonly target: string;
  readonly measured: string;
  readonly limit: string;
  readonly value: number | undefined;
  readonly met: boolean | undefined;
}

function target(
  name: string,
  value: number | undefined,
  comparison: '<=' | '>=',
  limit: number,
  unit: string,
  measured: string,
): TargetResult {
  const met =
    value === undefined || Number.isNaN(value)
      ? undefined
      : comparison === '<='
        ? value <= limit
        : value >= limit;
  const sign = comparison === '<=' ? '≤' : '≥';
  return { target: name, measured, limit: `${sign} ${limit}${unit}`, value, met };
}

const fixed = (value: number | undefined, digits = 2) =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);

/** The issue's targets, judged against this run. */
export function judgeTargets(results: Omit<BenchResults, 'targets'>): TargetResult[] {
  const cases = results.latency?.cases;
  const api = cases?.api?.p50;
  const ratio = (reference: ReferenceName) => {
    const p50 = cases?.[reference]?.p50;
    return api === undefined || p50 === undefined ? undefined : api / p50;
  };
  const crun = ratio('crun');
  const floor = ratio('cHelper');
  const c8 = results.throughput?.points.find((point) => point.concurrency === 8)?.perSecond;
  const state = results.scale?.endpoints['/state'].p50;
  const recovery = results.scale?.recovery.summary.p50;
  const rss = results.scale?.rss.perContainerKiB;
  const n = results.scale?.containers ?? 0;
  return [
    target(
      'API launch p50 ÷ `crun run` p50',
      crun,
      '<=',
      0.4,
      '×',
      `${fixed(api)} ms ÷ ${fixed(cases?.crun?.p50)} ms = ${fixed(crun)}×`,
    ),
    target(
      'API launch p50 ÷ C-helper floor p50',
      floor,
      '<=',
      1.6,
      '×',
      `${fixed(api)} ms ÷ ${fixed(cases?.cHelper?.p50)} ms = ${fixed(floor)}×`,
    ),
    target('launch+destroy per second at concurrency 8', c8, '>=', 400, '/s', `${fixed(c8, 0)}/s`),
    target(`\`/state\` p50 with ${n} containers`, state, '<=', 25, ' ms', `${fixed(state)} ms`),
    target(
      `recovery of ${n} containers (SIGKILL, restart → \`/state\` 200), median`,
      recovery === undefined ? undefined : recovery / 1000,
      '<=',
      2,
      ' s',
      `${fixed(recovery === undefined ? undefined : recovery / 1000)} s`,
    ),
    target('agent RSS growth per container', rss, '<=', 16, ' KiB', `${fixed(rss, 1)} KiB`),
    ...curveTargets(results.scaleCurve),
  ];
}

/** The issue's targets at the curve's largest size (10,000 containers by default). */
function curveTargets(curve: ScaleCurve | undefined): TargetResult[] {
  const largest = curve?.points.at(-1);
  if (!largest) return [];
  const n = largest.containers;
  const p50 = (endpoint: (typeof ENDPOINTS)[number]) => largest.endpoints[endpoint].p50;
  const seconds = (ms: number) => ms / 1000;
  const health = largest.healthUnderLoad.health.p99;
  const recovery = seconds(largest.recovery.summary.p50);
  const rss = largest.rss.perContainerGcKiB;
  return [
    target(
      `\`/state\` p50 with ${n} containers`,
      p50('/state'),
      '<=',
      150,
      ' ms',
      `${fixed(p50('/state'))} ms`,
    ),
    ...(['/containers', 'GET_CONTAINERS'] as const).map((endpoint) =>
      target(
        `\`${endpoint}\` p50 (with usage) with ${n} containers`,
        seconds(p50(endpoint)),
        '<=',
        1.5,
        ' s',
        `${fixed(seconds(p50(endpoint)))} s`,
      ),
    ),
    target(
      `\`/health\` p99 while \`/containers\` runs back to back, ${n} containers`,
      health,
      '<=',
      50,
      ' ms',
      `${fixed(health)} ms`,
    ),
    target(
      `recovery of ${n} containers (SIGKILL, restart → \`/state\` 200), median`,
      recovery,
      '<=',
      10,
      ' s',
      `${fixed(recovery)} s`,
    ),
    target(
      `agent RSS growth per container with ${n}, after a forced GC`,
      rss,
      '<=',
      16,
      ' KiB',
      `${fixed(rss, 1)} KiB`,
    ),
  ];
}

function latencyRow(label: string, summary: LatencySummary | undefined, api?: number): string {
  if (!summary) return `| ${label} | – | – | – | – | – |`;
  const ratio = api === undefined ? '' : `${fixed(api / summary.p50)}×`;
  return `| ${label} | ${fixed(summary.p50)} | ${fixed(summary.p90)} | ${fixed(summary.p99)} | ${fixed(summary.mean)} | ${ratio} |`;
}

const INTRO = `# Corral benchmarks

Generated by \`pnpm bench\` (the \`@corral/bench\` package, \`bench/src/\`); every number is also in
\`bench/results/latest.json\`. Do not edit by hand: rerun the suite. Benchmarks report; they never
fail on a number.

What is measured, as root on one machine, in one run:

- **Launch latency** (scenario 1): from the moment the bench sends \`LAUNCH_CONTAINER\` over a
  kept-alive HTTP connection to the moment the command's first instruction runs. The command is
  a tiny freestanding C program (no C library) whose entry point, \`_start\`, first reads
  \`CLOCK_MONOTONIC\` (the clock of Node's \`process.hrtime\`) and writes it to a FIFO the bench
  reads; the bench subtracts its own send-time reading. Until commit 8f1cdd2 it was a static glibc
  program stamping in \`main()\`, after ~0.3 ms of C library start-up on this VM (page faults,
  and CPUID instructions that trap at ~3.6 µs each) that every path paid alike. Containers are
  waited for and removed between launches, untimed.
- **References** (scenario 3), interleaved round-robin with the API launches (one of each per
  round, \`interleave\` from \`@corral/test-support/bench\`), running the same command the same way:
  Node \`spawn\`; \`unshare --ipc\`; the C-helper floor (a static C program that \`clone\`s the
  command into a new IPC namespace, holds it on a pipe while the parent writes its pid to a
  net_cls cgroup's \`cgroup.procs\`, then releases it to \`exec\`), timed once from Node around
  \`spawn\` (**the floor the targets use**) and once inside C (a long-lived helper stamps
  \`CLOCK_MONOTONIC\` before \`clone\`: the kernel floor, no process start-up at all); and
  \`crun run\` of a minimal OCI bundle (rootfs: the command, the FIFO, empty /dev and /proc;
  mount + IPC namespaces; crun's default cgroupfs manager).
- **Throughput** (scenario 2): \`LAUNCH_CONTAINER\` of a sleeping command, then \`KILL_CONTAINER\` +
  \`WAIT_CONTAINER\` + \`REMOVE_CONTAINER\` (four calls per cycle), with 1, 8 and 32 clients back
  to back; the three concurrencies take turns in rounds.
- **Scale** (scenario 4): a fresh agent holding N sleeping containers: read-endpoint latency
  (interleaved), \`/health\` polled on a second connection while \`/containers\` runs back to
  back, agent RSS (\`VmRSS\` of \`/proc/<agent>/status\`, median of 5 readings 200 ms apart, 2 s
  after the last launch) idle and after the launches, as it is (with garbage not yet collected and
  allocator slack) and right after a forced full GC (\`HeapProfiler.collectGarbage\` through the
  inspector, which SIGUSR1 opens), and the time from spawning a restarted agent after \`SIGKILL\`
  until \`/state\` answers 200 (polled every 10 ms), with every container recovered.
- **Handle manager** (scenario 5): allocating and freeing all 65,535 net_cls handles of a primary.
- **Scale curve** (scenario 6, opt-in: \`CORRAL_BENCH_ONLY=curve\`, sizes from
  \`CORRAL_BENCH_CURVE\`, default 1,000, 5,000 and 10,000): scenario 4 at each size with a fresh
  agent, and the cost per container at each, so linearity shows; also what the kernel charges
  the bench for the reads a usage call needs. A full run without it keeps the last curve measured.

The agent is the built \`apps/agent/bin/corral-agent.js\`, started as its own process with
\`--isolation=${ISOLATION} --cgroups_net_cls_primary_handle=${PRIMARY_HANDLE}\`, a
\`--cgroups_root\` unique to the run, the default log level (\`info\`, to a file), \`--work_dir\` on
disk and \`--runtime_dir\` on tmpfs (\`/dev/shm\`), as production runtime dirs are. Containers get
the IPC isolator's default, a private IPC namespace with its own \`/dev/shm\`.
`;

export function renderMarkdown(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [INTRO];
  out.push('## Machine and run', '');
  out.push('| | |', '|---|---|');
  out.push(`| date | ${machine.date} |`);
  out.push(`| cores | ${machine.cores} (${machine.cpuModel}) |`);
  out.push(`| memory | ${machine.memoryGiB} GiB |`);
  out.push(`| kernel | ${machine.kernel} |`);
  out.push(`| OS | ${machine.os} |`);
  out.push(`| Node | ${machine.node} |`);
  out.push(`| Corral | ${machine.commit} |`);
  out.push(`| crun | ${machine.crun ?? 'not installed'} |`);
  out.push(`| cc | ${machine.cc} |`);
  out.push(`| suite duration | ${results.durationSeconds.toFixed(0)} s |`);
  out.push(
    `| load average (1 min) | ${fixed(machine.loadAverage.start)} at the start, ${fixed(machine.loadAverage.end)} at the end (${machine.cores} cores; other work shares this machine) |`,
  );
  for (const note of results.setup.notes) out.push(`| note | ${note} |`);
  for (const [name, reason] of Object.entries(results.skipped)) {
    out.push(`| skipped | ${name}: ${reason} |`);
  }
  out.push('');

  out.push('## Targets', '');
  out.push(
    'What each optimisation made for a missed target bought, measured before and after: [bench/OPTIMIZATIONS.md](bench/OPTIMIZATIONS.md).',
    '',
  );
  out.push('| target | limit | measured | |', '|---|---|---|---|');
  for (const t of results.targets) {
    const verdict = t.met === undefined ? 'not measured' : t.met ? '**met**' : '**missed**';
    out.push(`| ${t.target} | ${t.limit} | ${t.measured} | ${verdict} |`);
  }
  out.push('');

  const latency = results.latency;
  if (latency) {
    const api = latency.cases.api?.p50;
    out.push(
      `## Launch latency: request → command's first instruction (ms, ${latency.runs} launches each, ${latency.warmup} warm-up)`,
      '',
    );
    out.push(
      '| launch path | p50 | p90 | p99 | mean | API p50 ÷ this p50 |',
      '|---|---|---|---|---|---|',
    );
    out.push(latencyRow('**Corral API** `LAUNCH_CONTAINER`', latency.cases.api));
    for (const name of Object.keys(REFERENCE_LABELS) as ReferenceName[]) {
      const skipped = latency.skipped[name];
      if (skipped !== undefined)
        out.push(`| ${REFERENCE_LABELS[name]} | skipped: ${skipped} | | | | |`);
      else out.push(latencyRow(REFERENCE_LABELS[name], latency.cases[name], api));
    }
    out.push('');
    out.push(
      `The \`LAUNCH_CONTAINER\` response itself (sent → 200 received) took p50 ${fixed(latency.apiResponse.p50)} ms, p90 ${fixed(latency.apiResponse.p90)} ms, p99 ${fixed(latency.apiResponse.p99)} ms: the agent answers once the command runs and its status is recorded. A \`GET_HEALTH\` call on the same connection (the HTTP floor of every call, measured between launches) took p50 ${fixed(latency.apiRoundTrip.p50)} ms, p90 ${fixed(latency.apiRoundTrip.p90)} ms.`,
    );
    out.push('');
  }

  const throughput = results.throughput;
  if (throughput) {
    out.push(
      `## Launch+destroy throughput over the API (${throughput.rounds} interleaved rounds)`,
      '',
    );
    out.push(
      '| concurrency | cycles | launches/s | per round (/s) | cycle p50 (ms) | cycle p90 | cycle p99 |',
      '|---|---|---|---|---|---|---|',
    );
    for (const point of throughput.points) {
      out.push(
        `| ${point.concurrency} | ${point.cycles} | **${fixed(point.perSecond, 0)}** | ${point.roundsPerSecond.map((v) => v.toFixed(0)).join(', ')} | ${fixed(point.cycle.p50)} | ${fixed(point.cycle.p90)} | ${fixed(point.cycle.p99)} |`,
      );
    }
    out.push('', 'Where a cycle spends its time, per call (p50 / p90, ms):', '');
    out.push(
      `| concurrency | ${CYCLE_CALLS.map((name) => `\`${name}\``).join(' | ')} |`,
      `|---|${CYCLE_CALLS.map(() => '---').join('|')}|`,
    );
    for (const point of throughput.points) {
      const cells = CYCLE_CALLS.map(
        (name) => `${fixed(point.calls[name].p50)} / ${fixed(point.calls[name].p90)}`,
      );
      out.push(`| ${point.concurrency} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }

  const scale = results.scale;
  if (scale) {
    out.push(`## Scale: ${scale.containers} running containers`, '');
    out.push(
      `Launched ${scale.containers} sleeping containers 8 at a time in ${fixed(scale.fill.seconds)} s (${fixed(scale.fill.perSecond, 0)}/s); destroyed them 16 at a time in ${fixed(scale.teardown.seconds)} s (${fixed(scale.teardown.perSecond, 0)}/s).`,
      '',
    );
    out.push(
      `| endpoint (${scale.rounds} requests each, interleaved) | p50 (ms) | p90 | p99 | response size |`,
      '|---|---|---|---|---|',
    );
    for (const endpoint of ENDPOINTS) {
      const e = scale.endpoints[endpoint];
      out.push(
        `| \`${endpoint}\` | ${fixed(e.p50)} | ${fixed(e.p90)} | ${fixed(e.p99)} | ${(e.bytes / 1024).toFixed(0)} KiB |`,
      );
    }
    out.push('');
    out.push('| agent memory | VmRSS |', '|---|---|');
    out.push(`| idle (after 50 warm-up launches) | ${(scale.rss.idleKiB / 1024).toFixed(1)} MiB |`);
    out.push(
      `| with ${scale.containers} containers | ${(scale.rss.loadedKiB / 1024).toFixed(1)} MiB |`,
    );
    out.push(`| growth per container | **${fixed(scale.rss.perContainerKiB, 1)} KiB** |`);
    out.push(
      `| idle / with ${scale.containers} containers, right after a forced full GC | ${(scale.rss.idleGcKiB / 1024).toFixed(1)} MiB / ${(scale.rss.loadedGcKiB / 1024).toFixed(1)} MiB |`,
    );
    out.push(`| growth per container after GC | ${fixed(scale.rss.perContainerGcKiB, 1)} KiB |`);
    out.push(
      `| restarted agent after recovering them | ${(scale.rss.afterRecoveryKiB / 1024).toFixed(1)} MiB |`,
    );
    out.push('');
    out.push('| recovery after SIGKILL | |', '|---|---|');
    out.push(
      `| restart spawned → \`/state\` 200, each run | ${scale.recovery.runsMs.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')} |`,
    );
    out.push(`| median | **${fixed(scale.recovery.summary.p50 / 1000)} s** |`);
    out.push(
      `| of which the agent's own recovery (its \`recovery done\` log line) | ${scale.recovery.agentSeconds.map((s) => `${s.toFixed(2)} s`).join(', ')} |`,
    );
    out.push(`| containers recovered, each run | ${scale.recovery.recovered.join(', ')} |`);
    out.push('');
    const { health, containers } = scale.healthUnderLoad;
    out.push(
      `While \`/containers\` ran back to back (p50 ${fixed(containers.p50)} ms), \`/health\` on a second connection took p50 ${fixed(health.p50)} ms, p99 ${fixed(health.p99)} ms, max ${fixed(health.max)} ms (${health.runs} requests).`,
      '',
    );
  }

  const curve = results.scaleCurve;
  if (curve) out.push(...curveSection(curve));

  const handles = results.handles;
  if (handles) {
    out.push(
      `## net_cls handle manager (${handles.handles} handles, ${handles.rounds} rounds, median)`,
      '',
    );
    out.push('| operation | ns per op |', '|---|---|');
    out.push(`| allocate | ${fixed(handles.allocNsPerOp, 1)} |`);
    out.push(`| free | ${fixed(handles.freeNsPerOp, 1)} |`);
    out.push(`| allocate + free, per handle | ${fixed(handles.cycleNsPerHandle, 1)} |`);
    out.push(`| first round (cold JIT), per op | ${fixed(handles.coldNsPerOp, 1)} |`);
    out.push('');
  }

  if (results.leaks) {
    out.push('## After the run', '');
    out.push(
      results.leaks.clean
        ? 'Nothing left behind: no cgroups named after the run in any hierarchy, no processes, no mounts, nft tables unchanged.' +
            (results.leaks.zombies.length > 0
              ? ` (${results.leaks.zombies.length} killed processes were still waiting to be reaped by PID 1.)`
              : '')
        : `Left behind: ${JSON.stringify({ cgroups: results.leaks.cgroups, processes: results.leaks.processes, mounts: results.leaks.mounts })}`,
      '',
    );
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function curveSection(curve: ScaleCurve): string[] {
  const out = [
    `## Scale curve (scenario 6, opt-in: \`CORRAL_BENCH_ONLY=curve\`; measured ${curve.date})`,
    '',
    'A fresh agent per size, measured as in the scale scenario above. Latencies are p50 in ms',
    `(${curve.points[0]?.rounds ?? 0} requests of each endpoint, interleaved); \`/health\` is polled on a second connection`,
    'while `/containers` runs back to back. The kernel columns are the bench reading, outside the',
    "agent, every `/proc/<pid>/stat` on the machine (what a usage call without cgroups costs) and every container's",
    '`cgroup.procs` + `cpu.stat` (what the agent reads instead with the linux launcher). Where the',
    'kernel, not the agent, sets the limit, with the measurements: [bench/OPTIMIZATIONS.md](bench/OPTIMIZATIONS.md), session 4.',
    '',
    '| containers | launch, 8 at once (s) | destroy, 16 at once (s) | `/state` | `GET_STATE` | `/containers` | `GET_CONTAINERS` | `/metrics` | `/metrics/snapshot` | `/health` p99 / max under load | recovery (s) | RSS/container (KiB), after GC | kernel: /proc scan (ms, processes) | kernel: cgroup reads (ms) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const point of curve.points) {
    const e = point.endpoints;
    out.push(
      `| ${point.containers} | ${fixed(point.fill.seconds)} | ${fixed(point.teardown.seconds)} | ${fixed(e['/state'].p50)} | ${fixed(e.GET_STATE.p50)} | ${fixed(e['/containers'].p50)} | ${fixed(e.GET_CONTAINERS.p50)} | ${fixed(e['/metrics'].p50)} | ${fixed(e['/metrics/snapshot'].p50)} | ${fixed(point.healthUnderLoad.health.p99)} / ${fixed(point.healthUnderLoad.health.max)} | ${fixed(point.recovery.summary.p50 / 1000)} | ${fixed(point.rss.perContainerKiB, 1)}, ${fixed(point.rss.perContainerGcKiB, 1)} | ${fixed(point.kernel.procScanMs, 0)} (${point.kernel.processes}) | ${fixed(point.kernel.cgroupReadsMs, 0)} |`,
    );
  }
  out.push(
    '',
    "What a launch costs the kernel at each size, measured by the bench with the containers running: the C floor (clone into a new IPC namespace, write the pid to a net_cls `cgroup.procs`, exec; timed inside C, p50 of 30) and a `mkdir` + `rmdir` of a cgroup v2 beside the containers' cgroups (p50 of 20):",
    '',
    '| containers | C floor launch (ms) | cgroup v2 mkdir + rmdir (ms) |',
    '|---|---|---|',
  );
  for (const point of curve.points) {
    out.push(
      `| ${point.containers} | ${fixed(point.kernel.launchFloorMs)} | ${fixed(point.kernel.cgroupMkdirMs, 3)} |`,
    );
  }
  out.push('', 'Cost per container (each figure above ÷ the number of containers):', '');
  out.push(
    '| containers | launch (ms) | destroy (ms) | `/state` (µs) | `GET_STATE` (µs) | `/containers` (µs) | `GET_CONTAINERS` (µs) | recovery (ms) | kernel: /proc scan per process (µs) | kernel: cgroup reads (µs) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const point of curve.points) {
    const n = point.containers;
    const e = point.endpoints;
    const us = (ms: number) => fixed((ms * 1000) / n, 1);
    out.push(
      `| ${n} | ${fixed((point.fill.seconds * 1000) / n)} | ${fixed((point.teardown.seconds * 1000) / n)} | ${us(e['/state'].p50)} | ${us(e.GET_STATE.p50)} | ${us(e['/containers'].p50)} | ${us(e.GET_CONTAINERS.p50)} | ${fixed(point.recovery.summary.p50 / n, 3)} | ${fixed((point.kernel.procScanMs * 1000) / point.kernel.processes, 1)} | ${us(point.kernel.cgroupReadsMs)} |`,
    );
  }
  out.push('');
  return out;
}

/** Writes atomically (temp file + rename), so a reader never sees half a report. */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}
