import {
  type Capability,
  type ContainerConfig,
  InvalidContainerConfigError,
  InvalidFlagError,
  parseFlags,
} from '@corral/core';
import { describe, expect, it } from 'vitest';
import { normalizeCapability } from './capability-sets.ts';
import { capabilityFlags } from './flags.ts';
import {
  type CapabilitySettings,
  capabilitySetsOf,
  createCapabilitiesIsolator,
} from './isolator.ts';

const LAST = 40;
const DRS: Capability = 'CAP_DAC_READ_SEARCH';
const NR: Capability = 'CAP_NET_RAW';
const NA: Capability = 'CAP_NET_ADMIN';
const CHOWN: Capability = 'CAP_CHOWN';

function config(linuxInfo: Record<string, unknown>): ContainerConfig {
  return {
    command_info: { value: 'true' },
    directory: '/tmp/sandbox',
    runtime_directory: '/tmp/runtime',
    container_info: { linux_info: linuxInfo },
  };
}

const caps = (...names: string[]) => ({ capabilities: names });

function settings(effective?: Capability[], bounding?: Capability[]): CapabilitySettings {
  return {
    ...(effective ? { effective } : {}),
    ...(bounding ? { bounding } : {}),
    lastCap: LAST,
  };
}

describe('normalizeCapability', () => {
  it('takes Mesos names, CAP_ names and lower case', () => {
    for (const name of ['NET_RAW', 'CAP_NET_RAW', 'net_raw', 'cap_net_raw', 'Cap_Net_Raw']) {
      expect(normalizeCapability(name)).toBe('CAP_NET_RAW');
    }
  });

  it('knows no UNKNOWN, numbers or made-up names', () => {
    for (const name of ['UNKNOWN', 'CAP_UNKNOWN', 'FLY', '', 12, null]) {
      expect(normalizeCapability(name)).toBeUndefined();
    }
  });
});

describe('capabilitySetsOf: the Mesos matrix', () => {
  // (task E, task B, flag E, flag B) → the sets, as in Mesos' linux_capabilities tests.
  it.each([
    [
      { effective_capabilities: caps('DAC_READ_SEARCH') },
      undefined,
      undefined,
      { effective: [DRS], bounding: [DRS] },
    ],
    [
      {
        effective_capabilities: caps('DAC_READ_SEARCH'),
        bounding_capabilities: caps('NET_RAW', 'NET_ADMIN', 'DAC_READ_SEARCH'),
      },
      undefined,
      undefined,
      { effective: [DRS], bounding: [NR, NA, DRS] },
    ],
    [{ bounding_capabilities: caps('NET_RAW') }, undefined, undefined, { bounding: [NR] }],
    [{}, [NR, DRS], [NR, DRS], { effective: [NR, DRS], bounding: [NR, DRS] }],
    [{}, undefined, [NR, DRS], { bounding: [NR, DRS] }],
    [
      { capability_info: caps('net_raw') },
      undefined,
      [NR, DRS],
      { effective: [NR], bounding: [NR, DRS] },
    ],
    [{ effective_capabilities: caps() }, undefined, undefined, { effective: [], bounding: [] }],
    [{}, undefined, undefined, undefined],
  ])('%j with flags E=%j B=%j', (linuxInfo, flagE, flagB, expected) => {
    expect(capabilitySetsOf(config(linuxInfo), settings(flagE, flagB))).toEqual(expected);
  });

  it.each([
    [
      'an effective set outside the requested bounding set',
      {
        effective_capabilities: caps('NET_RAW', 'NET_ADMIN', 'DAC_READ_SEARCH'),
        bounding_capabilities: caps('CHOWN'),
      },
      settings(),
      'container.linux_info.effective_capabilities',
      'asks for {NET_RAW, NET_ADMIN, DAC_READ_SEARCH}, outside the bounding set asked for, {CHOWN}',
    ],
    [
      'an effective set outside the operator bound',
      { effective_capabilities: caps('NET_RAW', 'NET_ADMIN') },
      settings([CHOWN], [CHOWN]),
      'container.linux_info.effective_capabilities',
      'asks for {NET_RAW, NET_ADMIN}, outside what the agent allows, {CHOWN}',
    ],
    [
      'a bounding set outside the operator bound',
      { bounding_capabilities: caps('CHOWN', 'SYS_ADMIN') },
      settings(undefined, [CHOWN]),
      'container.linux_info.bounding_capabilities',
      'asks for {SYS_ADMIN}, outside what the agent allows, {CHOWN} (--bounding_capabilities)',
    ],
    [
      'both the deprecated and the new effective field',
      { capability_info: caps('CHOWN'), effective_capabilities: caps('CHOWN') },
      settings(),
      'container.linux_info.capability_info',
      "'capability_info' is the deprecated name",
    ],
    [
      'UNKNOWN',
      { effective_capabilities: caps('UNKNOWN') },
      settings(),
      'container.linux_info.effective_capabilities',
      "'UNKNOWN' is not a capability; accepted: CHOWN, DAC_OVERRIDE,",
    ],
    [
      'an unknown name',
      { bounding_capabilities: caps('CHOWN', 'FLY') },
      settings(),
      'container.linux_info.bounding_capabilities',
      "'FLY' is not a capability",
    ],
    [
      'a duplicate, also spelt differently',
      { effective_capabilities: caps('CHOWN', 'cap_chown') },
      settings(),
      'container.linux_info.effective_capabilities',
      'CHOWN is given twice',
    ],
    [
      'a list that is not a list',
      { effective_capabilities: { capabilities: 'CHOWN' } },
      settings(),
      'container.linux_info.effective_capabilities',
      "capabilities 'CHOWN' is not a list",
    ],
    [
      'a capability beyond the kernel',
      { effective_capabilities: caps('CHECKPOINT_RESTORE') },
      { lastCap: 37 },
      'container.linux_info.effective_capabilities',
      'CHECKPOINT_RESTORE (capability 40) is not supported by this kernel, whose last capability is AUDIT_READ (37',
    ],
  ])('refuses %s, naming the field and the capability', (_, linuxInfo, given, field, message) => {
    const refuse = () => capabilitySetsOf(config(linuxInfo), given);
    expect(refuse).toThrow(InvalidContainerConfigError);
    expect(refuse).toThrow(`'${field}' is invalid: `);
    expect(refuse).toThrow(message);
  });
});

describe('the linux/capabilities isolator', () => {
  const id = { value: 'c1' };

  it('returns the sets as launch info, and none when nothing is asked', () => {
    const isolator = createCapabilitiesIsolator(settings());
    expect(isolator.prepare?.(id, config({ effective_capabilities: caps('CHOWN') }))).toEqual({
      effective_capabilities: { capabilities: [CHOWN] },
      bounding_capabilities: { capabilities: [CHOWN] },
    });
    expect(isolator.prepare?.(id, config({}))).toBeUndefined();
  });

  it('parses its flags like Mesos, and refuses an effective flag outside the bounding flag', () => {
    const flags = parseFlags(capabilityFlags, {
      effective_capabilities: '{"capabilities": ["net_raw"]}',
      bounding_capabilities: '{"capabilities": ["CAP_NET_RAW", "CHOWN"]}',
    });
    expect(flags).toEqual({ effective_capabilities: [NR], bounding_capabilities: [NR, CHOWN] });
    expect(() => parseFlags(capabilityFlags, { bounding_capabilities: '["CHOWN"]' })).toThrow(
      InvalidFlagError,
    );
    expect(() => createCapabilitiesIsolator(settings([NR, CHOWN], [CHOWN]))).toThrow(
      'Invalid --effective_capabilities: {NET_RAW} outside --bounding_capabilities {CHOWN}',
    );
    expect(() => createCapabilitiesIsolator({ bounding: ['CAP_BPF'], lastCap: 38 })).toThrow(
      /Invalid --bounding_capabilities: BPF \(capability 39\) is not supported by this kernel/,
    );
  });

  it('supports nested and standalone containers, like Mesos', () => {
    const isolator = createCapabilitiesIsolator(settings());
    expect(isolator.supportsNesting).toBe(true);
    expect(isolator.supportsStandalone).toBe(true);
  });
});
