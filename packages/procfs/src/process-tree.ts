import { opendirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type ProcStat, readProcStat } from './stat.ts';

/** One scan of /proc: every process, and who its children are. */
export interface ProcessTable {
  readonly byPid: ReadonlyMap<number, ProcStat>;
  readonly childrenOf: ReadonlyMap<number, readonly ProcStat[]>;
}

/**
 * The pids in `procRoot`, as the directory is read: `readdirSync` of a /proc with 20,000 entries
 * takes 45-140 ms in one call (and sorts them), which a sliced scan could not interrupt.
 */
function* processIds(procRoot: string): Generator<number> {
  const dir = opendirSync(procRoot, { bufferSize: 256 });
  try {
    for (let entry = dir.readSync(); entry; entry = dir.readSync()) {
      const pid = Number(entry.name);
      if (Number.isInteger(pid)) yield pid;
    }
  } finally {
    dir.closeSync();
  }
}

function tableOf(stats: readonly ProcStat[]): ProcessTable {
  const byPid = new Map<number, ProcStat>();
  const childrenOf = new Map<number, ProcStat[]>();
  for (const stat of stats) {
    byPid.set(stat.pid, stat);
    const siblings = childrenOf.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else childrenOf.set(stat.ppid, [stat]);
  }
  return { byPid, childrenOf };
}

export function readProcessTable(procRoot = '/proc'): ProcessTable {
  return tableOf(
    Array.from(processIds(procRoot)).flatMap((pid) => readProcStat(pid, procRoot) ?? []),
  );
}

/**
 * `readProcessTable` in slices of at most `sliceMs`, yielding to the event loop between them:
 * with 20,000 processes a scan takes 300 ms or more of kernel time here, which would otherwise
 * stall every other request of a daemon.
 */
export async function readProcessTableSliced(
  procRoot = '/proc',
  sliceMs = 10,
): Promise<ProcessTable> {
  const stats: ProcStat[] = [];
  let sliceStart = performance.now();
  for (const pid of processIds(procRoot)) {
    const stat = readProcStat(pid, procRoot);
    if (stat) stats.push(stat);
    if (performance.now() - sliceStart > sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return tableOf(stats);
}

/** Every process in the tree rooted at `rootPid` (itself and all its descendants). */
export function processTree(rootPid: number, table: ProcessTable = readProcessTable()): ProcStat[] {
  const root = table.byPid.get(rootPid);
  if (!root) return [];
  const tree: ProcStat[] = [];
  const pending = [root];
  for (let next = pending.pop(); next; next = pending.pop()) {
    tree.push(next);
    pending.push(...(table.childrenOf.get(next.pid) ?? []));
  }
  return tree;
}
