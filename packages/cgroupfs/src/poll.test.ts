import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from './poll.ts';

describe('pollUntil', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('returns true at once when the condition already holds', async () => {
    expect(await pollUntil(() => true, Date.now() - 1)).toBe(true);
  });

  it('returns false once the deadline passes, having checked more than once', async () => {
    let checks = 0;
    const started = Date.now();
    // 500 ms of 1–4 ms waits: many checks even when a loaded CI machine delays timers by 100 ms.
    const result = await pollUntil(() => ++checks < 0, started + 500, { minMs: 1, maxMs: 4 });
    expect(result).toBe(false);
    expect(checks).toBeGreaterThan(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('checks at once when the watched file changes, long before the next timer', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-poll-'));
    const file = join(dir, 'events');
    writeFileSync(file, 'populated 1\n');
    let populated = true;
    setTimeout(() => {
      populated = false;
      writeFileSync(file, 'populated 0\n');
    }, 20);
    const started = Date.now();
    const result = await pollUntil(() => !populated, started + 10_000, {
      minMs: 5_000,
      maxMs: 5_000,
      wakeOn: file,
    });
    expect(result).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('checks once, then again as soon as the promise to wake on settles', async () => {
    let checks = 0;
    let ready = false;
    const wake = new Promise<void>((resolve) =>
      setTimeout(() => {
        ready = true;
        resolve();
      }, 20),
    );
    const started = Date.now();
    const result = await pollUntil(
      () => {
        checks++;
        return ready;
      },
      started + 10_000,
      { minMs: 5_000, maxMs: 5_000, wakeWhen: wake },
    );
    expect(result).toBe(true);
    expect(checks).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('falls back to its timers when the file to watch does not exist', async () => {
    let checks = 0;
    const result = await pollUntil(() => ++checks >= 3, Date.now() + 5_000, {
      minMs: 1,
      wakeOn: '/nonexistent/cgroup.events',
    });
    expect(result).toBe(true);
  });
});
