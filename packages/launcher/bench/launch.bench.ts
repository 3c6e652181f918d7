// Times fork() + release() of `/bin/true` in a new IPC namespace, per launcher kind:
// `pnpm bench` (root, for the linux launcher). Prints p50/p90/p99 in milliseconds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyCgroup } from '@corral/cgroupfs';
import {
  type InitSpec,
  type Launcher,
  LinuxLauncher,
  linuxLauncherAvailable,
  PosixLauncher,
} from '../src/index.ts';

const RUNS = Number(process.env.CORRAL_BENCH_RUNS ?? 300);
const WARMUP = 20;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function bench(name: string, launcher: Launcher): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'corral-bench-'));
  const spec: InitSpec = {
    argv: ['/bin/true'],
    environment: { PATH: '/usr/bin:/bin' },
    workingDirectory: dir,
    cloneNamespaces: ['ipc'],
    mounts: [],
    rlimits: [],
    statusFile: join(dir, 'status'),
    stdoutFile: join(dir, 'stdout'),
    stderrFile: join(dir, 'stderr'),
  };
  const times: number[] = [];
  try {
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const id = { value: `bench-${process.pid}-${run}` };
      const started = performance.now();
      const init = await launcher.fork(id, spec);
      await init.release();
      if (run >= WARMUP) times.push(performance.now() - started);
      await init.exited;
      await launcher.destroy(id);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const ms = (value: number) => value.toFixed(2);
  console.log(
    `${name}: fork+release of /bin/true with an IPC namespace, ${RUNS} runs: ` +
      `p50 ${ms(percentile(times, 50))} ms, p90 ${ms(percentile(times, 90))} ms, ` +
      `p99 ${ms(percentile(times, 99))} ms`,
  );
}

// After release() an init no longer holds the event loop (the agent may exit); this does.
const keepAlive = setInterval(() => {}, 1000);
await bench('posix', new PosixLauncher());
if (linuxLauncherAvailable()) {
  const cgroupsRoot = `corral-bench-${process.pid}`;
  for (const tracking of ['v2', 'v1-freezer'] as const) {
    const launcher = new LinuxLauncher({ cgroupsRoot, tracking });
    try {
      await bench(`linux (${tracking})`, launcher);
    } finally {
      await destroyCgroup(await launcher.hierarchy(), cgroupsRoot);
    }
  }
}
clearInterval(keepAlive);
