/** What `measureLoopStretches` saw while its work ran. */
export interface LoopStretches<T> {
  readonly result: T;
  /** Longest stretch between two turns of the event loop, in the main thread's CPU ms. */
  readonly longestCpuMs: number;
  /** Turns of the event loop the work let through. */
  readonly turns: number;
}

const threadCpuMs = () => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

/**
 * Runs `work` and measures how long it held the event loop at a stretch, in the main thread's
 * own CPU time: what a stretch costs other requests. Wall time would also count the time a loaded
 * CI machine preempts the process (a 50 ms slice was seen stretched to 500 ms), and process CPU
 * time would count V8's helper threads.
 */
export async function measureLoopStretches<T>(work: () => Promise<T>): Promise<LoopStretches<T>> {
  let longestCpuMs = 0;
  let turns = 0;
  let last = threadCpuMs();
  let ticking = true;
  const tick = () => {
    const now = threadCpuMs();
    longestCpuMs = Math.max(longestCpuMs, now - last);
    last = now;
    turns += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    const result = await work();
    longestCpuMs = Math.max(longestCpuMs, threadCpuMs() - last);
    return { result, longestCpuMs, turns };
  } finally {
    ticking = false;
  }
}
