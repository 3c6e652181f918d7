// Reads the agent's V8 CPU profiles (`node --cpu-prof`, CORRAL_BENCH_CPU_PROF=<dir>) and lists
// the functions with the most self time, each with the callers that time came through, and the
// inclusive time of each: what a fix should aim at.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Frame {
  readonly name: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) time. */
  readonly selfPct: number;
  readonly totalPct: number;
  readonly callers: readonly { readonly name: string; readonly ms: number }[];
  /** The nearest project frames (not `node:` internals) the time came through, innermost first. */
  readonly paths: readonly { readonly path: string; readonly ms: number }[];
}

export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly top: readonly Frame[];
}

/** How many project frames a path shows. */
const PATH_DEPTH = 3;

const META = new Set(['(root)', '(idle)', '(program)', '(garbage collector)']);

function location(url: string): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(path);
  if (pnpm?.[1]) return pnpm[1];
  return path.replace(/^.*\/work\/main\//, '');
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (META.has(name) || frame.url === '') return name;
  return `${name} ${location(frame.url)}:${frame.lineNumber + 1}`;
}

/**
 * `focus`: keep only the samples with a frame matching it on the stack (e.g. `/^runLaunch /` for
 * the launch path; an async function's continuation starts from its own frame, so this holds
 * across awaits).
 */
function summarizeProfile(file: string, limit = 15, focus?: RegExp): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  const paths = new Map<string, Map<string, number>>();
  let idleUs = 0;
  let sampledUs = 0;
  const onStack = (id: number, pattern: RegExp): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame && pattern.test(frameName(frame.callFrame))) return true;
    }
    return false;
  };
  profile.samples.forEach((id, index) => {
    // A sample stands for the interval up to the next one.
    const us = profile.timeDeltas[index + 1] ?? 0;
    sampledUs += us;
    const node = byId.get(id);
    if (!node) return;
    if (focus !== undefined && !onStack(id, focus)) {
      sampledUs -= us;
      return;
    }
    const name = frameName(node.callFrame);
    if (name === '(idle)') {
      idleUs += us;
      return;
    }
    self.set(name, (self.get(name) ?? 0) + us);
    const callerId = parent.get(id);
    const caller = callerId === undefined ? undefined : byId.get(callerId);
    if (caller) {
      const names = callers.get(name) ?? new Map<string, number>();
      const callerName = frameName(caller.callFrame);
      names.set(callerName, (names.get(callerName) ?? 0) + us);
      callers.set(name, names);
    }
    const projectFrames: string[] = [];
    for (let at = parent.get(id); at !== undefined && projectFrames.length < PATH_DEPTH; ) {
      const frame = byId.get(at)?.callFrame;
      if (!frame) break;
      if (frame.url !== '' && !frame.url.startsWith('node:')) projectFrames.push(frameName(frame));
      at = parent.get(at);
    }
    if (projectFrames.length > 0) {
      const byPath = paths.get(name) ?? new Map<string, number>();
      const path = projectFrames.join(' <- ');
      byPath.set(path, (byPath.get(path) ?? 0) + us);
      paths.set(name, byPath);
    }
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame) break;
      const key = frameName(frame.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + us);
    }
  });
  const busyUs = Math.max(1, sampledUs - idleUs);
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(
      ([name, us]): Frame => ({
        name,
        selfMs: us / 1000,
        selfPct: (100 * us) / busyUs,
        totalPct: (100 * (total.get(name) ?? us)) / busyUs,
        callers: [...(callers.get(name) ?? new Map<string, number>()).entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([caller, callerUs]) => ({ name: caller, ms: callerUs / 1000 })),
        paths: [...(paths.get(name) ?? new Map<string, number>()).entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([path, pathUs]) => ({ path, ms: pathUs / 1000 })),
      }),
    );
  return {
    file: focus === undefined ? file : `${file} (samples under ${focus})`,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    top,
  };
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [
    `${summary.file}: ${summary.wallMs.toFixed(0)} ms wall, ${summary.busyMs.toFixed(0)} ms busy`,
    '   self ms  self%  total%  function',
  ];
  for (const frame of summary.top) {
    lines.push(
      `  ${frame.selfMs.toFixed(1).padStart(8)} ${frame.selfPct.toFixed(1).padStart(5)}% ${frame.totalPct.toFixed(1).padStart(6)}%  ${frame.name}`,
    );
    if (frame.callers.length > 0) {
      lines.push(
        `             callers: ${frame.callers.map((c) => `${c.name} (${c.ms.toFixed(1)} ms)`).join('; ')}`,
      );
    }
    for (const path of frame.paths) {
      lines.push(`      ${path.ms.toFixed(1).padStart(8)} ms via ${path.path}`);
    }
  }
  return lines.join('\n');
}

/**
 * Summarises every profile in `dir` into `<dir>/summary.txt` (`summary-focus.txt` with a focus)
 * and returns the summaries.
 */
export function summarizeProfiles(dir: string, focus?: RegExp): ProfileSummary[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort();
  const summaries = files.map((name) => summarizeProfile(join(dir, name), 15, focus));
  const name = focus === undefined ? 'summary.txt' : 'summary-focus.txt';
  writeFileSync(join(dir, name), `${summaries.map(formatProfile).join('\n\n')}\n`);
  return summaries;
}
