import { InvalidFlagError, parseFlags } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { egressFlags, egressSettings, parseInterfaces } from './flags.ts';

const MANAGED = { primary: 0x19, secondaries: { lo: 1, hi: 0xffff } };

describe('egress flags', () => {
  it('are off by default', () => {
    expect(egressSettings(parseFlags(egressFlags, {}), MANAGED)).toBeUndefined();
  });

  it('read interfaces, auto, and a default rate in bits per second', () => {
    expect(parseInterfaces('eth0,bond0.10')).toEqual(['eth0', 'bond0.10']);
    expect(parseInterfaces('auto')).toBe('auto');
    expect(() => parseInterfaces('eth0,,eth1')).toThrow("'' is not an interface name");
    const values = parseFlags(egressFlags, {
      cgroups_net_cls_egress_interfaces: 'eth0',
      cgroups_net_cls_egress_rate_limit: '20M',
    });
    expect(egressSettings(values, MANAGED)).toEqual({
      accounting: false,
      interfaces: ['eth0'],
      rate: 20_000_000,
    });
  });

  it.each([
    [
      { cgroups_net_cls_egress_accounting: 'true' },
      undefined,
      "Invalid value 'true' for flag --cgroups_net_cls_egress_accounting: it needs managed classids",
    ],
    [
      { cgroups_net_cls_egress_rate_limit: '20M' },
      MANAGED,
      "Invalid value '20000000' for flag --cgroups_net_cls_egress_rate_limit: it needs --cgroups_net_cls_egress_interfaces",
    ],
    [
      { cgroups_net_cls_egress_interfaces: 'eth0' },
      { ...MANAGED, primary: 0x8000 },
      "Invalid value '0x8000' for flag --cgroups_net_cls_primary_handle: shaping",
    ],
  ])('refuses %j (handles %j), naming the flag and value', (raw, handles, message) => {
    const values = parseFlags(egressFlags, raw);
    expect(() => egressSettings(values, handles)).toThrow(InvalidFlagError);
    expect(() => egressSettings(values, handles)).toThrow(message);
  });

  it('allows accounting with any primary handle', () => {
    const values = parseFlags(egressFlags, { cgroups_net_cls_egress_accounting: 'true' });
    expect(egressSettings(values, { ...MANAGED, primary: 0xffff })).toMatchObject({
      accounting: true,
    });
  });
});
