import { type FSWatcher, watch } from 'node:fs';

export interface PollOptions {
  /** The first interval between checks, in ms; it doubles up to `maxMs`. */
  readonly minMs?: number;
  readonly maxMs?: number;
  /**
   * A file whose change notification (inotify) triggers a check at once, e.g. `cgroup.events`,
   * which the kernel marks modified when `populated` flips: the wait then ends when the kernel
   * is done, not at the next timer tick (Node's timers have a 1 ms granularity). The timers
   * still run, in case a notification is missed or the file cannot be watched.
   */
  readonly wakeOn?: string;
  /** Settles when the condition probably holds (e.g. the main process was reaped): check then. */
  readonly wakeWhen?: Promise<unknown> | undefined;
}

/** Sleeps that a change of a watched file, or a promise settling, cuts short. */
class Waker {
  readonly #watcher: FSWatcher | undefined;
  #changed = false;
  #wake: (() => void) | undefined;

  constructor(path: string | undefined, promise: Promise<unknown> | undefined) {
    const changed = () => {
      this.#changed = true;
      this.#wake?.();
    };
    promise?.then(changed, changed);
    if (path === undefined) return;
    try {
      this.#watcher = watch(path, { persistent: false }, changed);
      this.#watcher.on('error', () => undefined); // the file went away: the timers carry on
    } catch {
      // Not watchable (gone already, or no inotify): the timers alone.
    }
  }

  /** Resolves after `ms`, or at once when a change came since the last sleep. */
  sleep(ms: number): Promise<void> {
    if (this.#changed) {
      this.#changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#changed = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  close(): void {
    this.#watcher?.close();
  }
}

/**
 * Waits until `done()` returns true, checking at once and then at intervals that grow from
 * `minMs` to `maxMs`, so a quick kernel answer is seen quickly and a slow one does not spin; a
 * change of `wakeOn`, or `wakeWhen` settling, checks at once. The event loop stays free. Returns false if `deadline`
 * (epoch ms) passes first.
 */
export async function pollUntil(
  done: () => boolean,
  deadline: number,
  { minMs = 1, maxMs = 20, wakeOn, wakeWhen }: PollOptions = {},
): Promise<boolean> {
  if (done()) return true;
  const waker = new Waker(wakeOn, wakeWhen);
  try {
    // A change between the first check and the start of the watch sends no notification, so a
    // watch needs one more check; a promise cannot settle in between.
    if (wakeOn !== undefined && done()) return true;
    let interval = minMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await waker.sleep(Math.min(interval, left));
      interval = Math.min(interval * 2, maxMs);
      if (done()) return true;
    }
  } finally {
    waker.close();
  }
}
