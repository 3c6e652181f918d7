import { flag, InvalidFlagError, parseInteger } from '@corral/core';
import { egressFlags } from './egress/flags.ts';
import { hex } from './errors.ts';
import { DEFAULT_SECONDARIES, type HandleRange, MAX_HANDLE } from './handle-manager.ts';

export const PRIMARY_FLAG = 'cgroups_net_cls_primary_handle';
export const SECONDARY_FLAG = 'cgroups_net_cls_secondary_handles';

const BOUND = { min: 1, max: MAX_HANDLE, hex: true } as const;

/** Parses `lo,hi` (each hex or decimal, 1 <= lo <= hi <= 0xffff). */
export function parseSecondaryRange(raw: string): HandleRange {
  const parts = raw.split(',');
  if (parts.length !== 2) {
    throw new Error(`'${raw}' is not two bounds separated by one comma`);
  }
  const [loText = '', hiText = ''] = parts;
  const bound = (which: string, text: string): number => {
    try {
      return parseInteger(text, BOUND);
    } catch (error) {
      throw new Error(`the ${which} bound ${(error as Error).message}`);
    }
  };
  const lo = bound('lower', loText);
  const hi = bound('upper', hiText);
  if (lo > hi) {
    throw new Error(`'${raw}' is an empty range: the lower bound is above the upper bound`);
  }
  return { lo, hi };
}

/**
 * The flags this isolator owns (egress ones included), besides the shared `cgroups_hierarchy` and
 * `cgroups_root`.
 */
export const netClsFlags = {
  [PRIMARY_FLAG]: flag.integer({
    help:
      'Primary net_cls handle (0xAAAA of classid 0xAAAABBBB). When set, the isolator manages ' +
      'classids: each container gets a free secondary handle; when unset, it writes no classid',
    ...BOUND,
  }),
  [SECONDARY_FLAG]: flag.custom({
    help:
      'Inclusive range lo,hi of secondary net_cls handles handed out under the primary handle ' +
      `(default ${hex(DEFAULT_SECONDARIES.lo)},${hex(DEFAULT_SECONDARIES.hi)}); needs ` +
      `--${PRIMARY_FLAG}`,
    accepted:
      `two integers lo,hi with ${hex(BOUND.min)} <= lo <= hi <= ${hex(BOUND.max)}, ` +
      'each hex (0x10) or decimal (16), e.g. 0x1,0xffff or 1,3',
    parse: parseSecondaryRange,
  }),
  ...egressFlags,
};

/** Managed mode: classids are `primary << 16 | s` with `s` from `secondaries`. */
export interface ManagedHandles {
  readonly primary: number;
  readonly secondaries: HandleRange;
}

/**
 * The handle mode the flag values ask for: managed (a primary is set) or unmanaged (undefined).
 * A secondary range without a primary is refused instead of being ignored as in Mesos: the
 * operator evidently expected managed classids.
 */
export function managedHandles(values: {
  readonly [PRIMARY_FLAG]?: number | undefined;
  readonly [SECONDARY_FLAG]?: HandleRange | undefined;
}): ManagedHandles | undefined {
  const primary = values[PRIMARY_FLAG];
  const secondaries = values[SECONDARY_FLAG];
  if (primary === undefined) {
    if (secondaries !== undefined) {
      const range = `${hex(secondaries.lo)},${hex(secondaries.hi)}`;
      throw new InvalidFlagError(
        SECONDARY_FLAG,
        range,
        `--${SECONDARY_FLAG}=${range} was given without --${PRIMARY_FLAG}: secondary handles are ` +
          `only handed out in managed mode; set --${PRIMARY_FLAG} (e.g. 0x19) or drop ` +
          `--${SECONDARY_FLAG}`,
      );
    }
    return undefined;
  }
  return { primary, secondaries: secondaries ?? DEFAULT_SECONDARIES };
}
