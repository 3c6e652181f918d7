import { ResourceExhaustedError } from '@corral/core';
import {
  hex,
  NetClsHandleInUseError,
  NetClsHandleNotAllocatedError,
  NetClsHandleOutOfRangeError,
} from './errors.ts';

/** The largest primary or secondary handle: both are 16-bit. */
export const MAX_HANDLE = 0xffff;

/** An inclusive range `lo..hi` of primary or secondary handles. */
export interface HandleRange {
  readonly lo: number;
  readonly hi: number;
}

/** Mesos' default secondary range; 0 is never handed out. */
export const DEFAULT_SECONDARIES: HandleRange = { lo: 1, hi: MAX_HANDLE };

/** A net_cls handle: the classid `0xAAAABBBB` split into primary `0xAAAA` and secondary `0xBBBB`. */
export interface NetClsHandle {
  readonly primary: number;
  readonly secondary: number;
}

/** The 32-bit classid of `handle`, as an unsigned number (what `net_cls.classid` holds). */
export function classidOf(handle: NetClsHandle): number {
  return ((handle.primary << 16) | handle.secondary) >>> 0;
}

/** The handle of a 32-bit classid. */
export function handleOf(classid: number): NetClsHandle {
  return { primary: classid >>> 16, secondary: classid & MAX_HANDLE };
}

/** `0x00190001 (primary 0x19, secondary 0x1)`: both the classid nftables matches and its halves. */
export function describeHandle(handle: NetClsHandle): string {
  const classid = classidOf(handle).toString(16).padStart(8, '0');
  return `0x${classid} (primary ${hex(handle.primary)}, secondary ${hex(handle.secondary)})`;
}

/** Index 0 of the lists below is their sentinel: secondary 0 is never inside a range. */
const SENTINEL = 0;

/**
 * The secondaries of one primary. The free ones form a circular doubly linked list through the
 * sentinel, kept in typed arrays indexed by secondary, so every operation is O(1): allocation
 * takes the head, freeing appends at the tail, reserving unlinks from anywhere.
 *
 * The list starts in ascending order, so allocation runs through the range like next-fit and
 * wraps around to handles freed meanwhile, oldest-freed first. That is stricter than a next-fit
 * cursor (which would hand out a handle freed just ahead of the cursor before older free ones):
 * a just-freed handle is reused only once every other free handle has been handed out.
 */
class SecondaryPool {
  readonly #used = new Uint8Array(MAX_HANDLE + 1);
  readonly #next = new Uint16Array(MAX_HANDLE + 1);
  readonly #prev = new Uint16Array(MAX_HANDLE + 1);
  #free = 0;

  constructor(range: HandleRange) {
    let last = SENTINEL;
    for (let secondary = range.lo; secondary <= range.hi; secondary++) {
      this.#next[last] = secondary;
      this.#prev[secondary] = last;
      last = secondary;
    }
    this.#next[last] = SENTINEL;
    this.#prev[SENTINEL] = last;
    this.#free = range.hi - range.lo + 1;
  }

  get free(): number {
    return this.#free;
  }

  isUsed(secondary: number): boolean {
    return this.#used[secondary] === 1;
  }

  /** Takes the next free secondary, or returns undefined when none is left. */
  take(): number | undefined {
    const secondary = this.#next[SENTINEL] ?? SENTINEL;
    if (secondary === SENTINEL) return undefined;
    this.claim(secondary);
    return secondary;
  }

  /** Marks a free secondary used; false if it already was. */
  claim(secondary: number): boolean {
    if (this.#used[secondary] === 1) return false;
    const prev = this.#prev[secondary] ?? SENTINEL;
    const next = this.#next[secondary] ?? SENTINEL;
    this.#next[prev] = next;
    this.#prev[next] = prev;
    this.#used[secondary] = 1;
    this.#free--;
    return true;
  }

  /** Returns a used secondary to the back of the line; false if it was not used. */
  release(secondary: number): boolean {
    if (this.#used[secondary] !== 1) return false;
    const last = this.#prev[SENTINEL] ?? SENTINEL;
    this.#next[last] = secondary;
    this.#prev[secondary] = last;
    this.#next[secondary] = SENTINEL;
    this.#prev[SENTINEL] = secondary;
    this.#used[secondary] = 0;
    this.#free++;
    return true;
  }
}

export interface NetClsHandleManagerOptions {
  /** The primaries handles may have; the isolator uses a single one. */
  readonly primaries: HandleRange;
  /** The secondaries handed out under each primary. Default 1..0xffff. */
  readonly secondaries?: HandleRange;
}

function checkRange(name: string, range: HandleRange, min: number): void {
  const { lo, hi } = range;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < min || hi > MAX_HANDLE || lo > hi) {
    throw new RangeError(
      `The ${name} handle range ${lo}..${hi} is invalid: expected integers ` +
        `${hex(min)} <= lo <= hi <= ${hex(MAX_HANDLE)}`,
    );
  }
}

/**
 * Hands out net_cls handles (Mesos' NetClsHandleManager): allocate a free one, reserve a given one
 * (recovery), free, and ask whether one is used. Every operation is O(1); the state of a primary
 * is built on its first use. It knows nothing of cgroups.
 */
export class NetClsHandleManager {
  readonly primaries: HandleRange;
  readonly secondaries: HandleRange;
  readonly #pools = new Map<number, SecondaryPool>();

  constructor(options: NetClsHandleManagerOptions) {
    this.primaries = { ...options.primaries };
    this.secondaries = { ...(options.secondaries ?? DEFAULT_SECONDARIES) };
    checkRange('primary', this.primaries, 0);
    checkRange('secondary', this.secondaries, 1);
  }

  /** Whether both halves of `handle` are inside the manager's ranges. */
  contains(handle: NetClsHandle): boolean {
    return (
      this.#inRange(handle.primary, this.primaries) &&
      this.#inRange(handle.secondary, this.secondaries)
    );
  }

  /**
   * Allocates a free handle under `primary` (default: the lowest primary). Throws
   * `ResourceExhaustedError` when every secondary is in use.
   */
  alloc(primary: number = this.primaries.lo): NetClsHandle {
    const secondary = this.#pool(primary).take();
    if (secondary === undefined) {
      const { lo, hi } = this.secondaries;
      throw new ResourceExhaustedError(
        'net_cls_handles',
        `No free net_cls handles remain for primary handle ${hex(primary)}: all ${hi - lo + 1} ` +
          `secondary handles ${hex(lo)}..${hex(hi)} are in use`,
      );
    }
    return { primary, secondary };
  }

  /** Marks `handle` used, as recovery does for a running container's handle. */
  reserve(handle: NetClsHandle): void {
    this.#checkSecondary(handle);
    if (!this.#pool(handle.primary).claim(handle.secondary)) {
      throw new NetClsHandleInUseError(classidOf(handle), describeHandle(handle));
    }
  }

  /** Returns an allocated or reserved handle to the pool. */
  free(handle: NetClsHandle): void {
    this.#checkSecondary(handle);
    const pool = this.#checkedPool(handle.primary);
    if (!pool?.release(handle.secondary)) {
      throw new NetClsHandleNotAllocatedError(classidOf(handle), describeHandle(handle));
    }
  }

  isUsed(handle: NetClsHandle): boolean {
    this.#checkSecondary(handle);
    return this.#checkedPool(handle.primary)?.isUsed(handle.secondary) ?? false;
  }

  /** How many secondaries of `primary` (default: the lowest) are in use and free. */
  count(primary: number = this.primaries.lo): { readonly inUse: number; readonly free: number } {
    const size = this.secondaries.hi - this.secondaries.lo + 1;
    const free = this.#checkedPool(primary)?.free ?? size;
    return { inUse: size - free, free };
  }

  #inRange(value: number, range: HandleRange): boolean {
    return Number.isInteger(value) && value >= range.lo && value <= range.hi;
  }

  #checkSecondary(handle: NetClsHandle): void {
    if (!this.#inRange(handle.secondary, this.secondaries)) {
      const { lo, hi } = this.secondaries;
      throw new NetClsHandleOutOfRangeError('secondary', handle.secondary, lo, hi);
    }
  }

  /** The pool of `primary` if it has been used yet; throws for a primary outside the range. */
  #checkedPool(primary: number): SecondaryPool | undefined {
    if (!this.#inRange(primary, this.primaries)) {
      const { lo, hi } = this.primaries;
      throw new NetClsHandleOutOfRangeError('primary', primary, lo, hi);
    }
    return this.#pools.get(primary);
  }

  #pool(primary: number): SecondaryPool {
    let pool = this.#checkedPool(primary);
    if (pool === undefined) {
      pool = new SecondaryPool(this.secondaries);
      this.#pools.set(primary, pool);
    }
    return pool;
  }
}
