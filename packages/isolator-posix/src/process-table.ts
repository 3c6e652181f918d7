import { readdirSync, readFileSync } from 'node:fs';

/** The /proc/<pid>/stat fields usage reporting needs. */
export interface ProcessSample {
  readonly pid: number;
  readonly ppid: number;
  /** Clock ticks. */
  readonly utime: number;
  readonly stime: number;
  readonly threads: number;
  /** Resident pages. */
  readonly rssPages: number;
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) may contain spaces and
 * parentheses, so fields are counted from the last ')'.
 */
export function parseStat(text: string): ProcessSample | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  // After ") " come field 3 (state) onwards; index 0 here is field 3.
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return {
    pid,
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    threads: field(20),
    rssPages: field(24),
  };
}

function readSample(procRoot: string, pid: number): ProcessSample | undefined {
  try {
    return parseStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // The process exited between readdir and read.
  }
}

/**
 * Every process in the tree rooted at `rootPid` (the container's init and its descendants; the
 * init is a child subreaper, so daemonised descendants stay in its tree).
 */
export function processTree(rootPid: number, procRoot = '/proc'): ProcessSample[] {
  const children = new Map<number, ProcessSample[]>();
  let root: ProcessSample | undefined;
  for (const entry of readdirSync(procRoot)) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const sample = readSample(procRoot, pid);
    if (!sample) continue;
    if (pid === rootPid) root = sample;
    const siblings = children.get(sample.ppid);
    if (siblings) siblings.push(sample);
    else children.set(sample.ppid, [sample]);
  }
  if (!root) return [];
  const tree: ProcessSample[] = [];
  const pending = [root];
  for (let next = pending.pop(); next; next = pending.pop()) {
    tree.push(next);
    pending.push(...(children.get(next.pid) ?? []));
  }
  return tree;
}
