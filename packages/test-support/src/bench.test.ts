import { describe, expect, it } from 'vitest';
import { interleave, summarize } from './bench.ts';

describe('summarize', () => {
  it('reports percentiles of the samples', () => {
    const samples = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(summarize(samples)).toEqual({ runs: 100, p50: 51, p90: 91, p99: 100, mean: 50.5 });
  });
});

describe('interleave', () => {
  it('alternates cases round by round and drops the warm-up', async () => {
    const order: string[] = [];
    const result = await interleave(
      {
        a: async () => {
          order.push('a');
          return 1;
        },
        b: async () => {
          order.push('b');
          return 2;
        },
      },
      3,
      1,
    );
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    expect(result.a?.runs).toBe(3);
    expect(result.b?.p50).toBe(2);
  });
});
