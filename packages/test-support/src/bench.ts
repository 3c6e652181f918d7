/** Latency samples in milliseconds, summarised the way every Corral benchmark reports them. */
export interface LatencySummary {
  readonly runs: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return {
    runs: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
  };
}

/** `name: p50 1.23 ms, p90 …, p99 … (N runs)`. */
export function formatSummary(name: string, summary: LatencySummary): string {
  const ms = (value: number) => value.toFixed(2);
  return `${name}: p50 ${ms(summary.p50)} ms, p90 ${ms(summary.p90)} ms, p99 ${ms(summary.p99)} ms (${summary.runs} runs)`;
}

/**
 * Runs the measured cases round-robin, one sample of each per round, so that a noisy neighbour
 * on a shared machine slows every case alike instead of skewing the one that ran at that moment.
 */
export async function interleave(
  cases: Readonly<Record<string, () => Promise<number>>>,
  rounds: number,
  warmup = Math.min(20, Math.ceil(rounds / 10)),
): Promise<Record<string, LatencySummary>> {
  const samples: Record<string, number[]> = Object.fromEntries(
    Object.keys(cases).map((name) => [name, []]),
  );
  for (let round = 0; round < warmup + rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const elapsed = await run();
      if (round >= warmup) samples[name]?.push(elapsed);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, summarize(values)]),
  );
}
