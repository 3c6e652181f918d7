/**
 * Job throughput through Slurm on a 3-node cluster of our own, with `--container` (corral-runc
 * and the node's agent) against plain `srun`, interleaved in one run: one job at a time (the
 * per-job cost Corral adds) and batches of BATCH jobs submitted at once (jobs/s).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, interleave } from '@corral/test-support/bench';
import { down, up } from '../src/cluster.ts';

const ROUNDS = Number(process.env.CORRAL_BENCH_ROUNDS ?? 30);
const BATCHES = Number(process.env.CORRAL_BENCH_BATCHES ?? 3);
const BATCH = 30;

async function timed(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const began = performance.now();
  const child = spawn('nsenter', args, { stdio: 'ignore', env });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`nsenter ${args.join(' ')} exited with ${code}`);
  return performance.now() - began;
}

const dir = mkdtempSync(join(tmpdir(), 'corral-cluster-bench-'));
chmodSync(dir, 0o755);
const clusterDir = join(dir, 'cluster');
try {
  const cluster = await up({ dir: clusterDir });
  const job = (container: boolean) =>
    timed(
      cluster.slurmArgs('srun', [
        '-N1',
        '-n1',
        ...(container ? [`--container=${cluster.record.bundle}`] : []),
        'true',
      ]),
      cluster.env,
    );
  const batch = async (container: boolean) => {
    const began = performance.now();
    await Promise.all(Array.from({ length: BATCH }, () => job(container)));
    return performance.now() - began;
  };
  const single = await interleave(
    { 'srun true': () => job(false), 'srun --container true': () => job(true) },
    ROUNDS,
    3,
  );
  const batches = await interleave(
    { plain: () => batch(false), container: () => batch(true) },
    BATCHES,
    1,
  );
  const nodes = cluster.record.nodes.length;
  console.log(`Slurm 22.05, ${nodes} nodes (2 CPUs each) on one 2-core VM, interleaved`);
  for (const [name, summary] of Object.entries(single)) console.log(formatSummary(name, summary));
  const plain = single['srun true'];
  const contained = single['srun --container true'];
  if (plain && contained) {
    console.log(
      `per-job overhead of --container (p50): ${(contained.p50 - plain.p50).toFixed(1)} ms`,
    );
  }
  for (const [name, summary] of Object.entries(batches)) {
    console.log(
      `${formatSummary(`${BATCH} jobs at once, ${name}`, summary)}; ${(BATCH / (summary.p50 / 1000)).toFixed(1)} jobs/s`,
    );
  }
} finally {
  await down(clusterDir);
  rmSync(dir, { recursive: true, force: true });
}
