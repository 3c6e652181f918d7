import { readdirSync } from 'node:fs';
import { type ProcStat, readProcStat } from './stat.ts';

/** One scan of /proc: every process, and who its children are. */
export interface ProcessTable {
  readonly byPid: ReadonlyMap<number, ProcStat>;
  readonly childrenOf: ReadonlyMap<number, readonly ProcStat[]>;
}

export function readProcessTable(procRoot = '/proc'): ProcessTable {
  const byPid = new Map<number, ProcStat>();
  const childrenOf = new Map<number, ProcStat[]>();
  for (const entry of readdirSync(procRoot)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readProcStat(pid, procRoot);
    if (!stat) continue;
    byPid.set(pid, stat);
    const siblings = childrenOf.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else childrenOf.set(stat.ppid, [stat]);
  }
  return { byPid, childrenOf };
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
