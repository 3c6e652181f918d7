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

/** The 0-based indexes, after the command name, of the fields Corral reads (field N is N - 3). */
const STATE = 0;
const PPID = 4 - 3;
const PGRP = 5 - 3;
const UTIME = 14 - 3;
const STIME = 15 - 3;
const THREADS = 20 - 3;
const START_TIME = 22 - 3;
const RSS = 24 - 3;
const SPACE = 0x20;
const DIGIT_0 = 0x30;

/**
 * Parses one /proc/<pid>/stat line. Fields are counted after the last ')' because the command
 * name (field 2) may itself contain spaces and parentheses. Numbers are read digit by digit: a
 * scan of 20,000 processes that split every line made a million short-lived strings, and the
 * agent's collections of them paused it for up to 100 ms.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0 || text.charCodeAt(close + 1) !== SPACE) return undefined;
  const numbers = new Array<number>(RSS + 1).fill(Number.NaN);
  let state = '';
  let field = 0;
  let value = 0;
  let digits = 0;
  for (let index = close + 2; index <= text.length && field <= RSS; index++) {
    const code = index < text.length ? text.charCodeAt(index) : SPACE;
    if (code === SPACE || code === 0x0a) {
      if (field === STATE) state = text.slice(close + 2, index);
      else if (digits > 0) numbers[field] = value;
      field++;
      value = 0;
      digits = 0;
    } else if (field !== STATE) {
      const digit = code - DIGIT_0;
      // A sign or anything else makes the field no plain count (e.g. tty_nr, priority).
      value = digit >= 0 && digit <= 9 && digits >= 0 ? value * 10 + digit : Number.NaN;
      digits = Number.isNaN(value) ? -1 : digits + 1;
    }
  }
  const number = (n: number) => numbers[n] ?? Number.NaN;
  const stat: ProcStat = {
    pid: Number.parseInt(text, 10),
    state,
    ppid: number(PPID),
    processGroup: number(PGRP),
    utime: number(UTIME),
    stime: number(STIME),
    threads: number(THREADS),
    startTime: number(START_TIME),
    rssPages: number(RSS),
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
