// Scenario 5: the net_cls handle manager on its own: allocate all 65,535 secondaries of a primary,
// then free them all, in ns per operation. A new manager per round, so each round also pays for
// the lazily built state of the primary; round 0 (JIT warm-up) is reported apart.
import {
  MAX_HANDLE,
  type NetClsHandle,
  NetClsHandleManager,
} from '@corral/isolator-cgroups-net-cls';

export interface HandlesResult {
  readonly handles: number;
  readonly rounds: number;
  /** Medians over the rounds after the first. */
  readonly allocNsPerOp: number;
  readonly freeNsPerOp: number;
  /** Allocate + free of every handle, per handle. */
  readonly cycleNsPerHandle: number;
  /** The first round (cold JIT), alloc + free per operation. */
  readonly coldNsPerOp: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export function runHandles(rounds: number): HandlesResult {
  const alloc: number[] = [];
  const free: number[] = [];
  let coldNsPerOp = Number.NaN;
  const handles: NetClsHandle[] = new Array(MAX_HANDLE);
  for (let round = 0; round <= rounds; round++) {
    const manager = new NetClsHandleManager({ primaries: { lo: 0x19, hi: 0x19 } });
    const started = process.hrtime.bigint();
    for (let i = 0; i < MAX_HANDLE; i++) handles[i] = manager.alloc();
    const allocated = process.hrtime.bigint();
    for (let i = 0; i < MAX_HANDLE; i++) manager.free(handles[i] as NetClsHandle);
    const freed = process.hrtime.bigint();
    if (manager.count().free !== MAX_HANDLE) throw new Error('the handle manager leaked handles');
    if (round === 0) {
      coldNsPerOp = Number(freed - started) / (2 * MAX_HANDLE);
      continue;
    }
    alloc.push(Number(allocated - started) / MAX_HANDLE);
    free.push(Number(freed - allocated) / MAX_HANDLE);
  }
  const allocNsPerOp = median(alloc);
  const freeNsPerOp = median(free);
  return {
    handles: MAX_HANDLE,
    rounds,
    allocNsPerOp,
    freeNsPerOp,
    cycleNsPerHandle: allocNsPerOp + freeNsPerOp,
    coldNsPerOp,
  };
}
