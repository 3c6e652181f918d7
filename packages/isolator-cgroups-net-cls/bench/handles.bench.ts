// `pnpm bench`: (1) the handle manager: allocate all 65 535 secondaries of a primary, then free
// them, in ns per operation; (2) what cgroups/net_cls adds to a launch: the real containerizer
// and linux launcher running /bin/true with posix/cpu+posix/mem alone vs. posix + cgroups/net_cls,
// interleaved in one run (root only). Prints numbers; asserts nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyCgroup, prepareV1Hierarchy, readProcCgroups } from '@corral/cgroupfs';
import { Containerizer, type NamedIsolator } from '@corral/containerizer';
import {
  cgroupsFlags,
  type Isolator,
  type IsolatorContext,
  parseFlags,
  silentLogger,
} from '@corral/core';
import { posixCpu, posixMem } from '@corral/isolator-posix';
import { createLauncher, LinuxLauncher } from '@corral/launcher';
import { cgroupsNetCls, MAX_HANDLE, NetClsHandleManager, netClsFlags } from '../src/index.ts';

const ROUNDS = Number(process.env.CORRAL_BENCH_ROUNDS ?? 20);
const LAUNCHES = Number(process.env.CORRAL_BENCH_RUNS ?? 200);
const WARMUP = 20;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

function benchHandles(): void {
  const alloc: number[] = [];
  const free: number[] = [];
  let firstRound = 0;
  for (let round = 0; round <= ROUNDS; round++) {
    // A new manager each round, so the first allocation also pays for the lazy state.
    const manager = new NetClsHandleManager({ primaries: { lo: 0x19, hi: 0x19 } });
    const handles = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < MAX_HANDLE; i++) handles.push(manager.alloc());
    const allocated = process.hrtime.bigint();
    for (const handle of handles) manager.free(handle);
    const freed = process.hrtime.bigint();
    if (manager.count().free !== MAX_HANDLE) throw new Error('handles leaked');
    // Round 0 warms up the JIT and is reported on its own.
    if (round === 0) {
      firstRound = Number(freed - started) / (2 * MAX_HANDLE);
      continue;
    }
    alloc.push(Number(allocated - started) / MAX_HANDLE);
    free.push(Number(freed - allocated) / MAX_HANDLE);
  }
  console.log(
    `handle manager, ${MAX_HANDLE} handles x ${ROUNDS} rounds (median): ` +
      `alloc ${median(alloc).toFixed(1)} ns/op, free ${median(free).toFixed(1)} ns/op ` +
      `(cold first round: ${firstRound.toFixed(1)} ns/op)`,
  );
}

function canLaunch(): string | undefined {
  if (process.geteuid?.() !== 0) return 'needs root';
  if (!readProcCgroups().some((s) => s.name === 'net_cls' && s.enabled)) return 'needs net_cls';
  return undefined;
}

async function benchLaunch(): Promise<void> {
  const missing = canLaunch();
  if (missing !== undefined) {
    console.log(`launch overhead: skipped (${missing})`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'corral-net-cls-bench-'));
  const roots = {
    posix: `corral-bench-${process.pid}-posix`,
    netCls: `corral-bench-${process.pid}-net-cls`,
  };
  const context = (root: string): IsolatorContext => ({
    name: 'bench',
    logger: silentLogger,
    runtimeDir: dir,
    cgroups: { hierarchy: '/sys/fs/cgroup', root },
    agent: { workDir: dir, runtimeDir: dir },
  });
  const posix = async (root: string): Promise<NamedIsolator[]> => [
    { name: 'posix/cpu', isolator: await posixCpu.create({}, context(root)) },
    { name: 'posix/mem', isolator: await posixMem.create({}, context(root)) },
  ];
  const netCls = await cgroupsNetCls.create(
    parseFlags(
      { ...cgroupsFlags, ...netClsFlags },
      { cgroups_root: roots.netCls, cgroups_net_cls_primary_handle: '0x1d' },
    ),
    context(roots.netCls),
  );
  // Time spent inside this isolator's prepare and isolate, the part of a launch it owns.
  const own: number[] = [];
  let ownThisLaunch = 0;
  const timed = async <T>(call: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      ownThisLaunch += performance.now() - started;
    }
  };
  const timedNetCls: Isolator = {
    recover: (states, orphans) => netCls.recover?.(states, orphans),
    prepare: (id, config) => timed(() => netCls.prepare?.(id, config)),
    isolate: (id, pid) => timed(() => netCls.isolate?.(id, pid)),
    status: (id) => netCls.status?.(id) ?? {},
    cleanup: (id) => netCls.cleanup?.(id),
  };
  const setups = {
    posix: new Containerizer({
      runtimeDir: join(dir, 'posix'),
      launcher: createLauncher({ kind: 'linux', cgroupsRoot: roots.posix }),
      isolators: await posix(roots.posix),
    }),
    netCls: new Containerizer({
      runtimeDir: join(dir, 'net-cls'),
      launcher: createLauncher({ kind: 'linux', cgroupsRoot: roots.netCls }),
      isolators: [
        ...(await posix(roots.netCls)),
        { name: 'cgroups/net_cls', isolator: timedNetCls },
      ],
    }),
  };
  const times: Record<keyof typeof setups, number[]> = { posix: [], netCls: [] };
  const launchOnce = async (which: keyof typeof setups, run: number): Promise<void> => {
    const containerizer = setups[which];
    const id = { value: `${which}-${run}` };
    ownThisLaunch = 0;
    const started = performance.now();
    await containerizer.launch(id, {
      command_info: { shell: false, value: '/bin/true' },
      directory: join(dir, 'sandboxes', id.value),
    });
    const elapsed = performance.now() - started;
    await containerizer.wait(id);
    if (run < WARMUP) return;
    times[which].push(elapsed);
    if (which === 'netCls') own.push(ownThisLaunch);
  };
  try {
    for (let run = 0; run < WARMUP + LAUNCHES; run++) {
      // Alternate which goes first, so neither always runs on a warmer cache.
      const order: (keyof typeof setups)[] =
        run % 2 === 0 ? ['posix', 'netCls'] : ['netCls', 'posix'];
      for (const which of order) await launchOnce(which, run);
    }
  } finally {
    const hierarchies = [await prepareV1Hierarchy('/sys/fs/cgroup', 'net_cls')];
    const launcher = createLauncher({ kind: 'linux', cgroupsRoot: roots.posix });
    if (launcher instanceof LinuxLauncher) hierarchies.push(await launcher.hierarchy());
    for (const hierarchy of hierarchies) {
      for (const root of Object.values(roots)) await destroyCgroup(hierarchy, root);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  const report = (label: string, values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      label,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
    };
  };
  const a = report('posix/cpu,posix/mem', times.posix);
  const b = report('posix/cpu,posix/mem,cgroups/net_cls', times.netCls);
  for (const { label, p50, p90 } of [a, b]) {
    console.log(
      `launch of /bin/true (containerizer + linux launcher), ${LAUNCHES} runs, ${label}: ` +
        `p50 ${p50.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms`,
    );
  }
  console.log(
    `cgroups/net_cls adds ${(b.p50 - a.p50).toFixed(2)} ms at p50, ${(b.p90 - a.p90).toFixed(2)} ms at p90`,
  );
  const ownSorted = [...own].sort((x, y) => x - y);
  console.log(
    `time inside cgroups/net_cls prepare+isolate per launch: p50 ${percentile(ownSorted, 50).toFixed(3)} ms, ` +
      `p90 ${percentile(ownSorted, 90).toFixed(3)} ms`,
  );
}

benchHandles();
// After release() an init no longer holds the event loop; this does.
const keepAlive = setInterval(() => {}, 1000);
await benchLaunch();
clearInterval(keepAlive);
