import { readFileSync } from 'node:fs';

/** The /proc/<pid>/stat fields Corral uses. */
export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z, T, … */
  readonly state: string;
  readonly ppid: number;
  readonly processGroup: number;
  /** Clock ticks (USER_HZ). */
  readonly utime: number;
  readonly stime: number;
  readonly threads: number;
  /** Clock ticks since boot: with the pid, it identifies a process across pid reuse. */
  readonly startTime: number;
  /** Resident pages. */
  readonly rssPages: number;
}

/**
 * Parses one /proc/<pid>/stat line. Fields are counted after the last ')' because the command
 * name (field 2) may itself contain spaces and parentheses.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // fields[0] is field 3 (state); field N is fields[N - 3].
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  const stat: ProcStat = {
    pid: Number.parseInt(text, 10),
    state: fields[0] ?? '',
    ppid: field(4),
    processGroup: field(5),
    utime: field(14),
    stime: field(15),
    threads: field(20),
    startTime: field(22),
    rssPages: field(24),
  };
  return stat.state !== '' && Number.isSafeInteger(stat.startTime) && Number.isSafeInteger(stat.pid)
    ? stat
    : undefined;
}

/** /proc/<pid>/stat, or undefined when there is no such process. */
export function readProcStat(pid: number, procRoot = '/proc'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`${procRoot}/${pid}/stat`, 'utf8'));
  } catch (error) {
    // ENOENT: no such process; ESRCH: it vanished between open and read.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
}

/** True while `pid` exists and has not exited (a zombie counts as exited). */
export function isRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}
