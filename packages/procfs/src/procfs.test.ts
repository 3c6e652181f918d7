import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseProcStat,
  processTree,
  readProcessTable,
  readProcessTableSliced,
  readProcStat,
} from './index.ts';

function stat(
  pid: number,
  comm: string,
  ppid: number,
  utime: number,
  threads: number,
  rss: number,
) {
  // Fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
  return `${pid} (${comm}) S ${ppid} 1 1 0 -1 0 0 0 0 0 ${utime} 5 0 0 20 0 ${threads} 0 100 1000 ${rss} 0`;
}

let proc: string | undefined;
afterEach(() => {
  if (proc) rmSync(proc, { recursive: true, force: true });
  proc = undefined;
});

function fakeProc(entries: Record<number, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'corral-proc-'));
  proc = root;
  for (const [pid, text] of Object.entries(entries)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'stat'), text);
  }
  mkdirSync(join(root, 'self'));
  return root;
}

describe('parseProcStat', () => {
  it('counts fields after the last parenthesis, so odd command names parse', () => {
    expect(parseProcStat(stat(42, 'we (ird) name', 7, 30, 3, 12))).toEqual({
      pid: 42,
      state: 'S',
      ppid: 7,
      processGroup: 1,
      utime: 30,
      stime: 5,
      threads: 3,
      startTime: 100,
      rssPages: 12,
    });
  });

  it('returns undefined for garbage', () => {
    expect(parseProcStat('nonsense')).toBeUndefined();
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('42 (sh) S 1 2')).toBeUndefined();
  });

  it('reads this process and nothing for a missing one', () => {
    expect(readProcStat(process.pid)?.pid).toBe(process.pid);
    expect(readProcStat(2 ** 30)).toBeUndefined();
  });
});

describe('processTree', () => {
  it('collects the root and all its descendants, nothing else', () => {
    const root = fakeProc({
      1: stat(1, 'init', 0, 1, 1, 1),
      10: stat(10, 'corral-init', 1, 1, 1, 100),
      11: stat(11, 'sh', 10, 2, 1, 200),
      12: stat(12, 'daemon', 11, 3, 4, 300),
      20: stat(20, 'unrelated', 1, 9, 9, 9),
    });
    const tree = processTree(10, readProcessTable(root));
    expect(tree.map((p) => p.pid).sort()).toEqual([10, 11, 12]);
  });

  it('is empty when the root is gone', () => {
    expect(processTree(99, readProcessTable(fakeProc({ 1: stat(1, 'init', 0, 1, 1, 1) })))).toEqual(
      [],
    );
  });
});

describe('readProcessTableSliced', () => {
  it('reads the same table as readProcessTable, letting other work run between slices', async () => {
    const entries: Record<number, string> = { 1: stat(1, 'init', 0, 1, 1, 1) };
    for (let pid = 2; pid < 200; pid++) entries[pid] = stat(pid, 'sleep', 1, pid, 1, pid);
    const root = fakeProc(entries);
    let otherWorkRan = false;
    setImmediate(() => {
      otherWorkRan = true;
    });
    const table = await readProcessTableSliced(root, 0);
    expect(otherWorkRan).toBe(true);
    expect(table).toEqual(readProcessTable(root));
    expect(table.byPid.size).toBe(199);
  });
});
