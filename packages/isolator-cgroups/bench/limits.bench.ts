// Launch latency with and without cgroups/cpu,cgroups/mem (interleaved, one run), the cost of
// usage() per container, and of the OOM trigger: `pnpm --filter @corral/isolator-cgroups bench`.
// Root and the kernel's cpu, cpuacct and memory controllers needed.
import { join } from 'node:path';
import { hostOomKills } from '@corral/cgroupfs';
import { Containerizer } from '@corral/containerizer';
import { formatSummary, interleave, summarize } from '@corral/test-support/bench';
import { createIsolators, shell, World } from '../test/helpers.ts';

const ROUNDS = Number(process.env.CORRAL_BENCH_ROUNDS ?? 200);
const USAGE_CONTAINERS = Number(process.env.CORRAL_BENCH_CONTAINERS ?? 500);

const world = new World();
// The engine's handles do not keep the process alive on their own (an agent has its server).
const keepAlive = setInterval(() => undefined, 1_000);
try {
  const plain = new Containerizer({
    runtimeDir: join(world.runtimeDir, 'plain'),
    launcher: (await import('@corral/launcher')).createLauncher({
      kind: 'linux',
      cgroupsRoot: world.root,
    }),
    isolators: [],
  });
  const limited = new Containerizer({
    runtimeDir: join(world.runtimeDir, 'limited'),
    launcher: (await import('@corral/launcher')).createLauncher({
      kind: 'linux',
      cgroupsRoot: world.root,
    }),
    isolators: await createIsolators(['cgroups/cpu', 'cgroups/mem'], world.root, {}),
  });
  let n = 0;
  const launchOnce = (containerizer: Containerizer) => async () => {
    const id = { value: `c${n++}` };
    const started = performance.now();
    await containerizer.launch(
      id,
      shell(world.sandbox(id.value), 'exec sleep 60', { cpus: 0.5, mem: 64 }),
    );
    // Destroyed after the measurement: cgroup removal (memcg teardown runs on kernel workers)
    // would otherwise overlap the next launch and be counted there.
    return performance.now() - started;
  };
  const results = await interleave(
    { without: launchOnce(plain), 'with cgroups/cpu,cgroups/mem': launchOnce(limited) },
    ROUNDS,
  );
  for (const [name, summary] of Object.entries(results))
    console.log(formatSummary(`launch ${name}`, summary));
  for (const launched of [plain, limited]) {
    for (const id of launched.list()) await launched.destroy(id);
  }

  const { containerizer, isolators } = await world.start([
    'cgroups/cpu',
    'cgroups/mem',
    'cgroups/pids',
  ]);
  for (let i = 0; i < USAGE_CONTAINERS; i++) {
    await containerizer.launch(
      { value: `u${i}` },
      shell(world.sandbox(`u${i}`), 'exec sleep 600', { cpus: 0.1, mem: 32 }),
    );
  }
  const perIsolator = new Map(isolators.map(({ name }) => [name, [] as number[]]));
  for (let round = 0; round < 5; round++) {
    for (const { name, isolator } of isolators) {
      const started = performance.now();
      for (let i = 0; i < USAGE_CONTAINERS; i++) isolator.usage?.({ value: `u${i}` });
      perIsolator.get(name)?.push(((performance.now() - started) * 1000) / USAGE_CONTAINERS);
    }
  }
  for (const [name, samples] of perIsolator) {
    const { p50 } = summarize(samples);
    console.log(
      `${name} usage(): ${p50.toFixed(1)} µs per container, ${(p50 * 10).toFixed(0)} ms for 10,000 (${USAGE_CONTAINERS} measured)`,
    );
  }
  const vmstat: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const started = performance.now();
    hostOomKills();
    vmstat.push((performance.now() - started) * 1000);
  }
  console.log(
    `OOM trigger (v1): /proc/vmstat read ${summarize(vmstat).p50.toFixed(1)} µs per interval, whatever the number of containers`,
  );
} finally {
  const left = await world.dispose();
  console.log(`cgroups left behind: ${left.length}`);
  clearInterval(keepAlive);
}
