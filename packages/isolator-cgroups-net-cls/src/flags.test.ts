import { InvalidFlagError, parseFlag, parseFlags } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { managedHandles, netClsFlags, PRIMARY_FLAG, SECONDARY_FLAG } from './flags.ts';

const primary = (raw: string) => parseFlag(PRIMARY_FLAG, netClsFlags[PRIMARY_FLAG], raw);
const secondary = (raw: string) => parseFlag(SECONDARY_FLAG, netClsFlags[SECONDARY_FLAG], raw);

function failure(parse: () => unknown): InvalidFlagError {
  try {
    parse();
  } catch (error) {
    if (error instanceof InvalidFlagError) return error;
    throw error;
  }
  throw new Error('expected an InvalidFlagError');
}

describe('--cgroups_net_cls_primary_handle', () => {
  it.each([
    ['0x19', 0x19],
    ['0x0019', 0x19],
    ['0X19', 0x19],
    ['25', 25],
    ['18', 0x12],
    ['1', 1],
    ['0xffff', 0xffff],
    ['65535', 0xffff],
  ])('accepts %j', (raw, value) => {
    expect(primary(raw)).toBe(value);
  });

  it.each([
    '0',
    '0x0',
    '0x10000',
    '65536',
    '-1',
    'abc',
    '0x',
    ' 25',
    '25 ',
    '',
    '1e3',
    '0x1g',
    '+5',
  ])('rejects %j naming the flag, the value and the accepted form', (raw) => {
    const error = failure(() => primary(raw));
    expect(error.code).toBe('CORRAL_INVALID_FLAG');
    expect(error.flag).toBe(PRIMARY_FLAG);
    expect(error.value).toBe(raw);
    expect(error.message).toContain(`'${raw}'`);
    expect(error.message).toContain(`--${PRIMARY_FLAG}`);
    expect(error.message).toContain(
      'accepted: an integer from 0x1 to 0xffff, hex (0x19) or decimal (25)',
    );
  });

  it('says why 0 is refused', () => {
    expect(failure(() => primary('0')).message).toContain('0 is outside 0x1..0xffff');
  });
});

describe('--cgroups_net_cls_secondary_handles', () => {
  it.each([
    ['1,3', { lo: 1, hi: 3 }],
    ['0x11,0x12', { lo: 0x11, hi: 0x12 }],
    ['0xffff,0xffff', { lo: 0xffff, hi: 0xffff }],
    ['1,65535', { lo: 1, hi: 0xffff }],
    ['16,0x1f', { lo: 16, hi: 0x1f }],
  ])('accepts %j', (raw, range) => {
    expect(secondary(raw)).toEqual(range);
  });

  it.each([
    ['0,3', 'the lower bound 0 is outside 0x1..0xffff'],
    ['1,0x10000', 'the upper bound 0x10000 is outside 0x1..0xffff'],
    ['3,1', "'3,1' is an empty range"],
    ['1', "'1' is not two bounds separated by one comma"],
    ['1,2,3', 'not two bounds'],
    ['1,,3', 'not two bounds'],
    ['', 'not two bounds'],
    [',', "the lower bound '' is not a decimal or 0x-prefixed hex integer"],
    ['1, 3', "the upper bound ' 3' is not"],
    ['a,b', "the lower bound 'a' is not"],
    ['-1,3', "the lower bound '-1' is not"],
    ['0x,3', "the lower bound '0x' is not"],
  ])('rejects %j (%s)', (raw, reason) => {
    const error = failure(() => secondary(raw));
    expect(error.flag).toBe(SECONDARY_FLAG);
    expect(error.value).toBe(raw);
    expect(error.message).toContain(`Invalid value '${raw}' for flag --${SECONDARY_FLAG}`);
    expect(error.message).toContain(reason);
    expect(error.message).toContain('accepted: two integers lo,hi with 0x1 <= lo <= hi <= 0xffff');
  });
});

describe('managedHandles', () => {
  it('is unmanaged without flags', () => {
    expect(managedHandles(parseFlags(netClsFlags, {}))).toBeUndefined();
  });

  it('defaults the secondaries to 1..0xffff', () => {
    expect(managedHandles(parseFlags(netClsFlags, { [PRIMARY_FLAG]: '0x19' }))).toEqual({
      primary: 0x19,
      secondaries: { lo: 1, hi: 0xffff },
    });
  });

  it('uses the given secondaries', () => {
    const values = parseFlags(netClsFlags, { [PRIMARY_FLAG]: '18', [SECONDARY_FLAG]: '0x11,0x12' });
    expect(managedHandles(values)).toEqual({ primary: 0x12, secondaries: { lo: 0x11, hi: 0x12 } });
  });

  it('refuses secondaries without a primary (Mesos silently ignores them)', () => {
    const values = parseFlags(netClsFlags, { [SECONDARY_FLAG]: '1,3' });
    const error = failure(() => managedHandles(values));
    expect(error.flag).toBe(SECONDARY_FLAG);
    expect(error.message).toBe(
      `--${SECONDARY_FLAG}=0x1,0x3 was given without --${PRIMARY_FLAG}: secondary handles are ` +
        `only handed out in managed mode; set --${PRIMARY_FLAG} (e.g. 0x19) or drop --${SECONDARY_FLAG}`,
    );
  });
});
