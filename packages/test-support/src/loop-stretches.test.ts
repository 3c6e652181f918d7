import { describe, expect, it } from 'vitest';
import { measureLoopStretches } from './loop-stretches.ts';

/** Holds the event loop for `ms` of this thread's CPU time, however often it is preempted. */
const spin = (ms: number) => {
  const cpuMs = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) / 1000;
  };
  const until = cpuMs() + ms;
  while (cpuMs() < until) {
    // Busy.
  }
};

describe('measureLoopStretches', () => {
  it('tells work done in one stretch from the same work in slices', async () => {
    const whole = await measureLoopStretches(async () => spin(120));
    expect(whole.longestCpuMs).toBeGreaterThan(80);
    const sliced = await measureLoopStretches(async () => {
      for (let slice = 0; slice < 12; slice++) {
        spin(10);
        await new Promise((resolve) => setImmediate(resolve));
      }
      return 'done';
    });
    expect(sliced.result).toBe('done');
    expect(sliced.turns).toBeGreaterThanOrEqual(10);
    expect(sliced.longestCpuMs).toBeLessThan(whole.longestCpuMs / 2);
  });
});
