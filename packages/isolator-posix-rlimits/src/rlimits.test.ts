import { type ContainerConfig, InvalidContainerConfigError } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { createRlimitsIsolator, RLIMIT_TYPES, rlimitsOf } from './rlimits.ts';

function config(rlimitInfo: unknown): ContainerConfig {
  return {
    command_info: { value: 'true' },
    directory: '/tmp/sandbox',
    runtime_directory: '/tmp/runtime',
    container_info: { rlimit_info: rlimitInfo as never },
  };
}

describe('rlimitsOf', () => {
  it('passes soft and hard limits through and takes neither as unlimited', () => {
    expect(
      rlimitsOf(
        config({
          rlimits: [
            { type: 'RLMT_NOFILE', soft: 64, hard: 128 },
            { type: 'RLMT_CORE' },
            { type: 'RLMT_STACK', soft: null, hard: null },
            { type: 'RLMT_CPU', soft: 0, hard: 0 },
          ],
        }),
      ),
    ).toEqual([
      { type: 'RLMT_NOFILE', soft: 64, hard: 128 },
      { type: 'RLMT_CORE' },
      { type: 'RLMT_STACK' },
      { type: 'RLMT_CPU', soft: 0, hard: 0 },
    ]);
  });

  it('keeps only the known fields', () => {
    expect(rlimitsOf(config({ rlimits: [{ type: 'RLMT_AS', soft: 1, hard: 2, x: 3 }] }))).toEqual([
      { type: 'RLMT_AS', soft: 1, hard: 2 },
    ]);
  });

  it('is empty without rlimit_info, with null, or with no rlimits', () => {
    expect(rlimitsOf({ command_info: {}, directory: '/', runtime_directory: '/' })).toEqual([]);
    expect(rlimitsOf(config(null))).toEqual([]);
    expect(rlimitsOf(config({}))).toEqual([]);
  });

  it('accepts every RLMT_* type of Mesos', () => {
    expect(RLIMIT_TYPES).toHaveLength(16);
    const rlimits = RLIMIT_TYPES.map((type) => ({ type, soft: 1, hard: 1 }));
    expect(rlimitsOf(config({ rlimits }))).toEqual(rlimits);
  });

  it.each([
    [
      'soft above hard',
      { rlimits: [{ type: 'RLMT_NOFILE', soft: 256, hard: 128 }] },
      'container.rlimit_info.rlimits[0]',
      "'container.rlimit_info.rlimits[0]' is invalid: RLMT_NOFILE soft limit 256 is above its hard limit 128",
    ],
    [
      'only soft',
      { rlimits: [{ type: 'RLMT_CORE' }, { type: 'RLMT_NOFILE', soft: 64 }] },
      'container.rlimit_info.rlimits[1]',
      'RLMT_NOFILE sets only its soft limit; set both soft and hard, or neither for unlimited',
    ],
    [
      'only hard',
      { rlimits: [{ type: 'RLMT_NOFILE', hard: 64 }] },
      'container.rlimit_info.rlimits[0]',
      'RLMT_NOFILE sets only its hard limit',
    ],
    [
      'an unknown type',
      { rlimits: [{ type: 'RLMT_UNKNOWN' }] },
      'container.rlimit_info.rlimits[0].type',
      "'RLMT_UNKNOWN' is not an rlimit type; accepted: RLMT_AS, RLMT_CORE, RLMT_CPU,",
    ],
    [
      'a type without the RLMT_ prefix',
      { rlimits: [{ type: 'NOFILE', soft: 1, hard: 1 }] },
      'container.rlimit_info.rlimits[0].type',
      "'NOFILE' is not an rlimit type",
    ],
    [
      'a missing type',
      { rlimits: [{ soft: 1, hard: 1 }] },
      'container.rlimit_info.rlimits[0].type',
      'undefined is not an rlimit type',
    ],
    [
      'a type given twice',
      {
        rlimits: [
          { type: 'RLMT_NOFILE', soft: 1, hard: 2 },
          { type: 'RLMT_CORE' },
          { type: 'RLMT_NOFILE' },
        ],
      },
      'container.rlimit_info.rlimits[2].type',
      'RLMT_NOFILE is already limited by rlimits[0]; give each type once',
    ],
    [
      'a negative limit',
      { rlimits: [{ type: 'RLMT_NOFILE', soft: -1, hard: 2 }] },
      'container.rlimit_info.rlimits[0].soft',
      'RLMT_NOFILE soft limit -1 is not a whole number from 0 to 9007199254740991',
    ],
    [
      'a fractional limit',
      { rlimits: [{ type: 'RLMT_NOFILE', soft: 1, hard: 2.5 }] },
      'container.rlimit_info.rlimits[0].hard',
      'hard limit 2.5 is not a whole number',
    ],
    [
      'a limit as text',
      { rlimits: [{ type: 'RLMT_NOFILE', soft: '64', hard: 128 }] },
      'container.rlimit_info.rlimits[0].soft',
      "soft limit '64' is not a whole number",
    ],
    [
      'an entry that is not an object',
      { rlimits: ['RLMT_NOFILE'] },
      'container.rlimit_info.rlimits[0]',
      "'RLMT_NOFILE' is not an object like",
    ],
    [
      'rlimits that is not a list',
      { rlimits: { type: 'RLMT_NOFILE' } },
      'container.rlimit_info.rlimits',
      'is not a list like',
    ],
    ['rlimit_info that is not an object', [], 'container.rlimit_info', '[] is not an object'],
  ])('refuses %s, naming the field', (_, info, field, message) => {
    const refuse = () => rlimitsOf(config(info));
    expect(refuse).toThrow(InvalidContainerConfigError);
    expect(refuse).toThrow(message);
    try {
      refuse();
    } catch (error) {
      expect((error as InvalidContainerConfigError).field).toBe(field);
      expect((error as InvalidContainerConfigError).code).toBe('CORRAL_INVALID_CONTAINER_CONFIG');
    }
  });
});

describe('the posix/rlimits isolator', () => {
  const isolator = createRlimitsIsolator();
  const id = { value: 'c1' };

  it('returns the limits as launch info', () => {
    expect(
      isolator.prepare?.(id, config({ rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }] })),
    ).toEqual({ rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }] });
  });

  it('returns no launch info without limits, so another isolator may set rlimits', () => {
    expect(isolator.prepare?.(id, config({ rlimits: [] }))).toBeUndefined();
  });

  it('fails the launch in prepare for invalid limits', () => {
    expect(() =>
      isolator.prepare?.(id, config({ rlimits: [{ type: 'RLMT_NOFILE', soft: 2, hard: 1 }] })),
    ).toThrow(InvalidContainerConfigError);
  });

  it('supports nested and standalone containers, like Mesos', () => {
    expect(isolator.supportsNesting).toBe(true);
    expect(isolator.supportsStandalone).toBe(true);
  });
});
