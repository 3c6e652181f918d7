// Launch latency and launch+destroy throughput of the containerizer with the posix isolators and
// an IPC namespace, beside a plain Node spawn('/bin/true') measured in the same run, interleaved.
// `pnpm bench` in this package (as root for the linux launcher). A benchmark: it reports, it
// never fails on a number.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyCgroup, findCgroup2Mount } from '@corral/cgroupfs';
import type { ContainerID } from '@corral/core';
import posix from '@corral/isolator-posix';
import { createLauncher } from '@corral/launcher';
import { formatSummary, interleave } from '@corral/test-support/bench';
import { Containerizer, type NamedIsolator } from '../src/index.ts';

const ROUNDS = Number(process.env.CORRAL_BENCH_RUNS ?? 300);
const THROUGHPUT_CYCLES = Number(process.env.CORRAL_BENCH_CYCLES ?? 800);
const dir = mkdtempSync(join(tmpdir(), 'corral-bench-containerizer-'));
const cgroupsRoot = `corral-bench-${process.pid}`;
const launcher = createLauncher({ cgroupsRoot });

const context = {
  name: 'posix',
  logger: { debug() {}, info() {}, warn() {}, error() {} },
  runtimeDir: dir,
  cgroups: { hierarchy: '/sys/fs/cgroup', root: cgroupsRoot },
  agent: { workDir: dir, runtimeDir: dir },
};
const isolators: NamedIsolator[] = [
  ...(await Promise.all(
    posix.isolators.map(async (definition) => ({
      name: definition.name,
      isolator: await definition.create({}, context),
    })),
  )),
  { name: 'bench/ipc', isolator: { prepare: () => ({ clone_namespaces: ['ipc'] as const }) } },
];
const containerizer = new Containerizer({ runtimeDir: join(dir, 'run'), launcher, isolators });

let next = 0;
const newId = (): ContainerID => ({ value: `bench-${next++}` });
const request = (program: string, ...args: string[]) => ({
  command_info: { shell: false, value: program, arguments: [program, ...args] },
  directory: join(dir, 'sandbox'),
});

async function nodeSpawn(): Promise<number> {
  const started = performance.now();
  const child = spawn('/bin/true', { stdio: 'ignore' });
  await once(child, 'exit');
  return performance.now() - started;
}

/** launch() resolves once the command has been exec'd, isolated. */
async function launch(): Promise<number> {
  const id = newId();
  const started = performance.now();
  await containerizer.launch(id, request('/bin/true'));
  const elapsed = performance.now() - started;
  await containerizer.wait(id);
  return elapsed;
}

async function launchAndDestroy(): Promise<number> {
  const id = newId();
  const started = performance.now();
  await containerizer.launch(id, request('/bin/sleep', '100'));
  await containerizer.destroy(id);
  return performance.now() - started;
}

async function throughput(concurrency: number, cycles: number): Promise<number> {
  let remaining = cycles;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (remaining > 0) {
        remaining -= 1;
        await launchAndDestroy();
      }
    }),
  );
  return cycles / ((performance.now() - started) / 1000);
}

// After release() an init no longer holds the event loop; this does while we wait on exits.
const keepAlive = setInterval(() => undefined, 1000);
try {
  console.log(
    `containerizer bench: ${launcher.kind} launcher, isolators ${isolators.map((i) => i.name).join(', ')}`,
  );
  const latency = await interleave(
    {
      "node spawn('/bin/true') to exit": nodeSpawn,
      "containerizer launch (call -> command exec'd)": launch,
      'containerizer launch + destroy': launchAndDestroy,
    },
    ROUNDS,
  );
  for (const [name, summary] of Object.entries(latency))
    console.log(`  ${formatSummary(name, summary)}`);
  for (const concurrency of [1, 8]) {
    const perSecond = await throughput(concurrency, THROUGHPUT_CYCLES);
    console.log(
      `  launch+destroy throughput at concurrency ${concurrency}: ${perSecond.toFixed(0)} per second (${THROUGHPUT_CYCLES} cycles)`,
    );
  }
} finally {
  clearInterval(keepAlive);
  await Promise.allSettled(containerizer.list().map((id) => containerizer.destroy(id)));
  const unified = findCgroup2Mount();
  if (launcher.kind === 'linux' && unified) await destroyCgroup(unified, cgroupsRoot);
  rmSync(dir, { recursive: true, force: true });
}
