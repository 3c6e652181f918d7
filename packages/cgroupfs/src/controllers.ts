import { readFileSync } from 'node:fs';
import { readControl } from './cgroup.ts';
import { CgroupError, errnoOf } from './errors.ts';

/**
 * The resource controllers' common parts, for cgroup v1 and v2: what each controller reads and
 * writes (the interfaces), the unit conversions Mesos uses, and the parsing of flat-keyed files.
 * `v1/cpu.ts`, `v2/cpu.ts`, `v1/memory.ts`, `v2/memory.ts` and `pids.ts` implement them.
 */

/** Mesos' CFS period (`CPU_CFS_PERIOD`, 100 ms) and smallest quota (`MIN_CPU_CFS_QUOTA`, 1 ms). */
export const CFS_PERIOD_US = 100_000;
export const MIN_CFS_QUOTA_US = 1_000;
/** v1 `cpu.shares` per CPU and its floor (Mesos' `CPU_SHARES_PER_CPU`, `MIN_CPU_SHARES`). */
export const SHARES_PER_CPU = 1024;
export const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

/** What a container may use of the CPU: a relative weight and an optional hard quota. */
export interface CpuLimits {
  /** v1 `cpu.shares` units (1024 per CPU); v2 converts them to `cpu.weight`. */
  readonly shares: number;
  /** CFS quota per `CFS_PERIOD_US`; undefined for none. */
  readonly quotaUs?: number | undefined;
}

export interface CpuUsage {
  readonly userSecs: number;
  readonly systemSecs: number;
  readonly nrPeriods: number;
  readonly nrThrottled: number;
  readonly throttledSecs: number;
}

export interface CpuController {
  readonly version: 1 | 2;
  /** The hierarchies a container's cgroup must exist in (v1: cpu and cpuacct, once if co-mounted). */
  readonly hierarchies: readonly string[];
  write(cgroup: string, limits: CpuLimits): void;
  read(cgroup: string): CpuLimits;
  usage(cgroup: string): CpuUsage;
}

/** Memory limits in bytes; undefined means unlimited. */
export interface MemoryLimits {
  readonly hardBytes?: number | undefined;
  /** v1 `memory.soft_limit_in_bytes`; v2 `memory.low` (protection up to the request). */
  readonly softBytes?: number | undefined;
}

export interface MemoryUsage {
  readonly totalBytes: number;
  readonly rssBytes: number;
  readonly cacheBytes: number;
  readonly anonBytes: number;
  readonly fileBytes: number;
  readonly mappedFileBytes: number;
  readonly unevictableBytes: number;
  readonly swapBytes?: number | undefined;
}

export interface MemoryController {
  readonly version: 1 | 2;
  readonly hierarchies: readonly string[];
  write(cgroup: string, limits: MemoryLimits): void;
  read(cgroup: string): MemoryLimits;
  usage(cgroup: string): MemoryUsage;
  /**
   * The high-water mark (v1 `max_usage_in_bytes`, v2 `memory.peak` where the kernel has it, else
   * undefined); apart from `usage` because only an OOM report needs it.
   */
  peak(cgroup: string): number | undefined;
  /** How many processes the kernel's OOM killer killed in the cgroup (v1 `oom_control`, v2 `memory.events`). */
  oomKills(cgroup: string): number;
}

export interface PidsController {
  readonly version: 1 | 2;
  readonly hierarchies: readonly string[];
  /** `pids.max`; undefined writes `max` (no limit). */
  write(cgroup: string, max: number | undefined): void;
  read(cgroup: string): number | undefined;
  current(cgroup: string): number;
}

/** `cpu.shares` for a CPU request, as Mesos computes it. */
export function sharesOf(cpus: number): number {
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor(cpus * SHARES_PER_CPU)));
}

/** The CFS quota of a CPU limit, as Mesos computes it. */
export function quotaOf(cpus: number): number {
  return Math.max(MIN_CFS_QUOTA_US, Math.floor(cpus * CFS_PERIOD_US));
}

/** v1 shares (2..262144) to v2 weight (1..10000): the mapping runc and crun use. */
export function weightOf(shares: number): number {
  return 1 + Math.floor(((Math.max(shares, MIN_SHARES) - 2) * 9999) / 262_142);
}

/** The inverse of `weightOf`, up to rounding: for reading a v2 weight back as shares. */
export function sharesOfWeight(weight: number): number {
  return 2 + Math.ceil(((weight - 1) * 262_142) / 9999);
}

/**
 * Above this a v1 memory limit means "unlimited": the kernel reports `PAGE_COUNTER_MAX` pages
 * (9223372036854771712 with 4 KiB pages), which is not exact in a double anyway.
 */
const UNLIMITED_BYTES = 2 ** 60;

/** A byte count read from a limit file; undefined for `max` (v2) or the v1 "unlimited" value. */
export function parseLimit(text: string, path: string): number | undefined {
  const value = text.trim();
  if (value === 'max') return undefined;
  const bytes = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isFinite(bytes)) {
    throw new CgroupError('parse', path, {
      detail: `expected a number or 'max', got ${JSON.stringify(value)}`,
    });
  }
  return bytes < 0 || bytes >= UNLIMITED_BYTES ? undefined : bytes;
}

/** `key value` lines (cpu.stat, memory.stat, memory.events, oom_control, …) as numbers. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) values[line.slice(0, space)] = value;
  }
  return values;
}

/** A flat-keyed control file of `cgroup`. */
export function readFlatKeyed(
  hierarchy: string,
  cgroup: string,
  file: string,
): Record<string, number> {
  return parseFlatKeyed(readControl(hierarchy, cgroup, file));
}

/** A control file the kernel may not have (e.g. v2 `memory.peak` before 5.19): undefined then. */
export function readOptionalControl(
  hierarchy: string,
  cgroup: string,
  file: string,
): string | undefined {
  try {
    return readControl(hierarchy, cgroup, file);
  } catch (error) {
    if (error instanceof CgroupError && error.errno === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The host's OOM-kill count (`oom_kill` in /proc/vmstat, Linux ≥ 4.13), which every kill by the
 * OOM killer, in any memory cgroup, increments. One small read tells a watcher whether any
 * container's counter can have moved, so it need not read each container's file to find out.
 */
export function hostOomKills(file = '/proc/vmstat'): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CgroupError('read', file, { errno: errnoOf(error), cause: error });
  }
  const match = /^oom_kill (\d+)$/m.exec(text);
  if (match === null) {
    throw new CgroupError('parse', file, {
      detail: "no 'oom_kill' counter (Linux 4.13 or later has one)",
    });
  }
  return Number(match[1]);
}
