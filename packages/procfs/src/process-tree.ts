import { readdirSync } from 'node:fs';
import { type ProcStat, readProcStat } from './stat.ts';

/**
 * Every process in the tree rooted at `rootPid` (itself and all its descendants), from one scan
 * of /proc.
 */
export function processTree(rootPid: number, procRoot = '/proc'): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const entry of readdirSync(procRoot)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readProcStat(pid, procRoot);
    if (!stat) continue;
    if (pid === rootPid) root = stat;
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  if (!root) return [];
  const tree: ProcStat[] = [];
  const pending = [root];
  for (let next = pending.pop(); next; next = pending.pop()) {
    tree.push(next);
    pending.push(...(children.get(next.pid) ?? []));
  }
  return tree;
}
