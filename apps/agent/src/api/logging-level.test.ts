import { afterEach, expect, it, vi } from 'vitest';
import { VerbosityToggle } from './logging-level.ts';

afterEach(() => {
  vi.useRealTimers();
});

it('raises the verbosity for the duration, then reverts to 0; a later call replaces both', () => {
  vi.useFakeTimers();
  const applied: number[] = [];
  const toggle = new VerbosityToggle((level) => applied.push(level));
  toggle.set(2, 1000);
  expect(toggle.level).toBe(2);
  vi.advanceTimersByTime(999);
  toggle.set(1, 500);
  vi.advanceTimersByTime(499);
  expect(toggle.level).toBe(1);
  vi.advanceTimersByTime(1);
  expect(toggle.level).toBe(0);
  vi.advanceTimersByTime(10_000);
  expect(applied).toEqual([2, 1, 0]);
});
