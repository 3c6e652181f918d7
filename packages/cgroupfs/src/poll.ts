import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits until `done()` returns true, checking at once and then at intervals that grow from
 * `minMs` to `maxMs`, so a quick kernel answer is seen quickly and a slow one does not spin. Only
 * timers are used, so the event loop stays free. Returns false if `deadline` (epoch ms) passes
 * first.
 */
export async function pollUntil(
  done: () => boolean,
  deadline: number,
  { minMs = 1, maxMs = 20 }: { minMs?: number; maxMs?: number } = {},
): Promise<boolean> {
  let interval = minMs;
  for (;;) {
    if (done()) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await delay(Math.min(interval, left));
    interval = Math.min(interval * 2, maxMs);
  }
}
