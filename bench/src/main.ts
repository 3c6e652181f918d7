// `pnpm bench`: sets the machine up, runs every scenario, writes bench/results/latest.json and
// BENCHMARKS.md, and removes everything it created, on success and on failure. Exit status 0
// whenever the benchmarks ran, whatever the numbers; non-zero only when something broke.
import { rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary } from '@corral/test-support/bench';
import { AgentProcess, agentDirs } from './agent-process.ts';
import { loadConfig } from './config.ts';
import { type HandlesResult, runHandles } from './handles.ts';
import { type LatencyResult, runLaunchLatency } from './launch-latency.ts';
import { formatProfile, summarizeProfiles } from './profile.ts';
import { prepareReferences, REFERENCE_LABELS, type ReferenceName } from './references.ts';
import {
  type BenchResults,
  judgeTargets,
  previousCurve,
  renderMarkdown,
  writeAtomically,
} from './report.ts';
import { runScale, type ScaleResult } from './scale.ts';
import {
  createWorkspace,
  ensureCrun,
  isRoot,
  type LeakReport,
  leakCheck,
  machineInfo,
  nftTables,
  releaseWorkspace,
  sweepCgroups,
  type Workspace,
} from './setup.ts';
import { StampFifo } from './stamp-fifo.ts';
import { runThroughput, type ThroughputResult } from './throughput.ts';

const RESULTS_DIR = new URL('../results/', import.meta.url).pathname;
/** Partial and quick runs leave the committed results alone. */
const PARTIAL_JSON = join(tmpdir(), `corral-bench-partial-${process.getuid?.() ?? 0}.json`);
const BENCHMARKS_MD = new URL('../../BENCHMARKS.md', import.meta.url).pathname;

const began = performance.now();
const loadAtStart = loadavg()[0] ?? Number.NaN;
const config = loadConfig(process.env);
let broken = false;
// A stray rejection must not kill the process before the cleanup below has run.
process.on('unhandledRejection', (error) => {
  console.error('bench: unhandled rejection:', error);
  broken = true;
});

const log = (line: string) => console.log(`bench: ${line}`);

// Interrupted (Ctrl-C): the same cleanup as after a failure, then exit.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    const cleanup = async () => {
      await AgentProcess.killAll();
      if (workspace !== undefined) await releaseWorkspace(workspace);
    };
    cleanup().then(
      () => process.exit(130),
      (error: unknown) => {
        console.error('bench: cleanup failed:', error);
        process.exit(1);
      },
    );
  });
}
const skipped: Record<string, string> = {};
const notes: string[] = [];
let handles: HandlesResult | undefined;
let latency: LatencyResult | undefined;
let throughput: ThroughputResult | undefined;
let scale: ScaleResult | undefined;
const curve: ScaleResult[] = [];
let leaks: LeakReport | undefined;
let workspace: Workspace | undefined;
let crun: { readonly path?: string; readonly skipped?: string } = {};

log(
  `scenarios ${config.scenarios.join(', ')}; ${config.launches} launches, ${config.cycles} cycles per concurrency, ${config.scale} containers at scale` +
    (config.full ? '' : ' (a partial run: BENCHMARKS.md is left alone)'),
);

if (config.scenarios.includes('handles')) {
  handles = runHandles(config.handleRounds);
  log(
    `handle manager: alloc ${handles.allocNsPerOp.toFixed(1)} ns/op, free ${handles.freeNsPerOp.toFixed(1)} ns/op`,
  );
}

const agentScenarios = config.scenarios.filter((name) => name !== 'handles');
if (agentScenarios.length > 0 && !isRoot()) {
  const reason =
    'needs root: the agent runs with full isolation (cgroups, namespaces); rerun as root';
  for (const name of agentScenarios) skipped[name] = reason;
  log(`skipping ${agentScenarios.join(', ')}: ${reason}`);
} else if (agentScenarios.length > 0) {
  const profileDir = (name: string) =>
    config.cpuProfDir === undefined ? undefined : join(config.cpuProfDir, name);
  let fifo: StampFifo | undefined;
  let nftBefore: string | undefined;
  try {
    if (config.scenarios.includes('latency')) crun = ensureCrun();
    workspace = createWorkspace();
    nftBefore = nftTables();
    if (!workspace.staticBinaries)
      notes.push('the C programs are dynamically linked (no static libc)');
    fifo = new StampFifo(workspace.fifoPath);
    if (config.scenarios.includes('latency') || config.scenarios.includes('throughput')) {
      const { agent } = await AgentProcess.start({
        cgroupsRoot: workspace.runId,
        ...agentDirs(workspace.diskDir, workspace.tmpfsDir, 'api'),
        cpuProfDir: profileDir('api'),
      });
      log(`agent ${agent.pid} at ${agent.url}`);
      if (config.scenarios.includes('latency')) {
        log(`launch latency: ${config.launches} launches of each kind, interleaved…`);
        latency = await runLaunchLatency(workspace, agent, fifo, crun, config.launches);
        log(formatSummary('Corral API launch', latency.cases.api ?? summaryMissing()));
        for (const [name, summary] of Object.entries(latency.cases)) {
          if (name !== 'api') log(formatSummary(REFERENCE_LABELS[name as ReferenceName], summary));
        }
        for (const [name, reason] of Object.entries(latency.skipped)) {
          skipped[`reference ${name}`] = reason;
        }
      }
      if (config.scenarios.includes('throughput')) {
        log(
          `throughput: ${config.cycles} cycles at concurrency ${config.concurrencies.join(', ')}…`,
        );
        throughput = await runThroughput(workspace, agent, config.cycles, config.concurrencies);
        for (const point of throughput.points) {
          log(`concurrency ${point.concurrency}: ${point.perSecond.toFixed(0)} launch+destroy/s`);
        }
      }
      await agent.stop('SIGTERM');
    }
    if (config.scenarios.includes('scale')) {
      log(`scale: ${config.scale} sleeping containers…`);
      scale = await runScale(
        workspace,
        {
          cgroupsRoot: workspace.runId,
          ...agentDirs(workspace.diskDir, workspace.tmpfsDir, 'scale'),
          cpuProfDir: profileDir('scale'),
        },
        config.scale,
        config.scaleRounds,
        config.recoveries,
      );
      for (const [endpoint, summary] of Object.entries(scale.endpoints)) {
        log(formatSummary(endpoint, summary));
      }
      logScale(scale);
    }
    const references = config.scenarios.includes('curve')
      ? await prepareReferences(workspace, fifo, { skipped: 'the curve does not run crun' })
      : undefined;
    for (const size of config.scenarios.includes('curve') ? config.curve : []) {
      log(`curve: ${size} sleeping containers…`);
      const point = await runScale(
        workspace,
        {
          cgroupsRoot: workspace.runId,
          ...agentDirs(workspace.diskDir, workspace.tmpfsDir, `curve-${size}`),
          cpuProfDir: profileDir(`curve-${size}`),
        },
        size,
        config.curveRounds,
        config.recoveries,
        references?.cases.cFloor,
      );
      curve.push(point);
      for (const [endpoint, summary] of Object.entries(point.endpoints)) {
        log(formatSummary(`${size}: ${endpoint}`, summary));
      }
      logScale(point);
    }
    await references?.close();
  } catch (error) {
    broken = true;
    console.error('bench: a scenario failed:', error);
  } finally {
    await AgentProcess.killAll();
    fifo?.close();
    if (workspace !== undefined) {
      try {
        await sweepCgroups(workspace.runId);
      } catch (error) {
        broken = true;
        console.error('bench:', error);
      }
      rmSync(workspace.tmpfsDir, { recursive: true, force: true });
      if (broken) log(`agent logs kept in ${workspace.diskDir}`);
      else rmSync(workspace.diskDir, { recursive: true, force: true });
      leaks = await leakCheck(workspace, nftBefore);
      log(leaks.clean ? 'nothing left behind' : `left behind: ${JSON.stringify(leaks)}`);
      if (!leaks.clean) broken = true;
    }
  }
  if (config.cpuProfDir !== undefined) {
    // The whole agent, then only the samples under a launch (the latency target's path).
    const views: [string, RegExp | undefined][] = [
      ['api', undefined],
      ['api', /^(runLaunch|launch) /],
      ['scale', undefined],
    ];
    for (const size of config.scenarios.includes('curve') ? config.curve : []) {
      views.push([`curve-${size}`, undefined]);
    }
    for (const [name, focus] of views) {
      const dir = join(config.cpuProfDir, name);
      try {
        for (const summary of summarizeProfiles(dir, focus)) console.log(formatProfile(summary));
      } catch (error) {
        log(`no profile summary for ${dir}: ${(error as Error).message}`);
      }
    }
  }
}

function logScale(result: ScaleResult): void {
  const { rss, healthUnderLoad, kernel } = result;
  log(
    `${result.containers} containers: launched at ${result.fill.perSecond.toFixed(0)}/s, destroyed at ${result.teardown.perSecond.toFixed(0)}/s; ` +
      `RSS idle ${rss.idleKiB} KiB, loaded ${rss.loadedKiB} KiB: ${rss.perContainerKiB.toFixed(1)} KiB per container (${rss.perContainerGcKiB.toFixed(1)} after GC); ` +
      `/health under /containers p99 ${healthUnderLoad.health.p99.toFixed(1)} ms, max ${healthUnderLoad.health.max.toFixed(1)} ms; ` +
      `/proc scan of ${kernel.processes} processes ${kernel.procScanMs.toFixed(0)} ms; ` +
      `recovery ${result.recovery.runsMs.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`,
  );
}

function summaryMissing() {
  return { runs: 0, p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, mean: Number.NaN };
}

const partial = {
  machine: machineInfo(crun.path, loadAtStart),
  config: {
    launches: config.launches,
    cycles: config.cycles,
    concurrencies: config.concurrencies,
    scale: config.scale,
    scaleRounds: config.scaleRounds,
    curve: config.curve,
    curveRounds: config.curveRounds,
    recoveries: config.recoveries,
    handleRounds: config.handleRounds,
    scenarios: config.scenarios,
  },
  setup: {
    runtimeDir: '/dev/shm (tmpfs)',
    workDir: '/tmp (disk)',
    staticBinaries: workspace?.staticBinaries ?? false,
    notes: [...notes, ...(latency?.notes ?? [])],
  },
  ...(latency ? { latency } : {}),
  ...(throughput ? { throughput } : {}),
  ...(scale ? { scale } : {}),
  ...(curve.length > 0 ? { scaleCurve: { date: new Date().toISOString(), points: curve } } : {}),
  ...(handles ? { handles } : {}),
  ...(leaks ? { leaks } : {}),
  skipped,
  durationSeconds: (performance.now() - began) / 1000,
};
// A full run without the (opt-in) curve keeps the last one measured, which says when it was.
const withCurve =
  config.full && partial.scaleCurve === undefined
    ? { ...partial, ...previousCurve(join(RESULTS_DIR, 'latest.json')) }
    : partial;
const results: BenchResults = { ...withCurve, targets: judgeTargets(withCurve) };
const markdown = renderMarkdown(results);
const json = `${JSON.stringify(results, null, 2)}\n`;
if (config.full && !broken) {
  writeAtomically(join(RESULTS_DIR, 'latest.json'), json);
  writeAtomically(BENCHMARKS_MD, markdown);
  log(`wrote ${BENCHMARKS_MD} and ${join(RESULTS_DIR, 'latest.json')}`);
} else {
  writeAtomically(PARTIAL_JSON, json);
  console.log(markdown);
  log(`wrote ${PARTIAL_JSON} (BENCHMARKS.md is only written by a full, clean run)`);
}
for (const t of results.targets) {
  log(
    `${t.met === undefined ? 'n/a   ' : t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured} (target ${t.limit})`,
  );
}
log(`done in ${results.durationSeconds.toFixed(0)} s`);
process.exitCode = broken ? 1 : 0;
