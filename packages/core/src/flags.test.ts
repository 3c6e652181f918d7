import { describe, expect, expectTypeOf, it } from 'vitest';
import { InvalidFlagError } from './errors.ts';
import { flag, parseBytes, parseFlag, parseFlags, pathList } from './flags.ts';

describe('flag.integer with hex', () => {
  const primary = flag.integer({ help: 'primary handle', min: 1, max: 0xffff, hex: true });

  it.each([
    ['0x19', 0x19],
    ['0x0019', 0x19],
    ['0X1a', 0x1a],
    ['25', 25],
    ['65535', 0xffff],
    ['0xffff', 0xffff],
  ])('parses %j', (raw, value) => {
    expect(parseFlag('cgroups_net_cls_primary_handle', primary, raw)).toBe(value);
  });

  it.each(['0', '0x10000', '-1', 'abc', '0x', ' 25', '25 ', '1e3', '2.5', ''])(
    'rejects %j',
    (raw) => {
      expect(() => parseFlag('cgroups_net_cls_primary_handle', primary, raw)).toThrow(
        InvalidFlagError,
      );
    },
  );

  it('names the flag, the value and the accepted form', () => {
    expect(() => parseFlag('cgroups_net_cls_primary_handle', primary, '0x10000')).toThrow(
      "Invalid value '0x10000' for flag --cgroups_net_cls_primary_handle: 0x10000 is outside 0x1..0xffff; " +
        'accepted: an integer from 0x1 to 0xffff, hex (0x19) or decimal (25)',
    );
  });
});

describe('flag.bytes', () => {
  it.each([
    ['64MB', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['1GB', 1024 ** 3],
    ['512B', 512],
    ['3kb', 3072],
    ['2TB', 2 * 1024 ** 4],
  ])('parses %j', (raw, bytes) => {
    expect(parseBytes(raw)).toBe(bytes);
  });

  it.each(['100', '1.5GB', '10XB', '-1MB', 'MB', ' 1MB', '99999999999999TB'])(
    'rejects %j',
    (raw) => {
      const size = flag.bytes({ help: 'size' });
      expect(() => parseFlag('default_container_shm_size', size, raw)).toThrow(
        /^Invalid value .* for flag --default_container_shm_size: .*; accepted: a size like 64MB/,
      );
    },
  );
});

describe('flag.boolean, enumeration, string, custom', () => {
  it('parses booleans strictly', () => {
    const b = flag.boolean({ help: 'b', default: false });
    expect(parseFlag('b', b, 'true')).toBe(true);
    expect(parseFlag('b', b, '0')).toBe(false);
    expect(() => parseFlag('b', b, 'yes')).toThrow(/accepted: true or false/);
  });

  it('parses enumerations', () => {
    const launcher = flag.enumeration({ help: 'l', values: ['linux', 'posix'] });
    expect(parseFlag('launcher', launcher, 'posix')).toBe('posix');
    expect(() => parseFlag('launcher', launcher, 'docker')).toThrow(
      /accepted: one of linux, posix/,
    );
  });

  it('wraps custom parse errors with the flag name', () => {
    const pair = flag.custom({
      help: 'lo,hi',
      accepted: 'two numbers lo,hi',
      parse: (raw) => raw.split(',').map(Number),
    });
    expect(parseFlag('range', pair, '1,2')).toEqual([1, 2]);
    const failing = flag.custom({
      help: 'x',
      accepted: 'anything but x',
      parse: (raw): string => {
        if (raw === 'x') throw new Error('x is not allowed');
        return raw;
      },
    });
    expect(() => parseFlag('thing', failing, 'x')).toThrow(
      "Invalid value 'x' for flag --thing: x is not allowed; accepted: anything but x",
    );
  });
});

describe('flag.directory and flag.paths', () => {
  it('take absolute directories, and keep a path list as the text given', () => {
    const dir = flag.directory({ help: 'd' });
    expect(parseFlag('d', dir, '/var/lib/x')).toBe('/var/lib/x');
    expect(() => parseFlag('d', dir, 'rel')).toThrow(/'rel' is not an absolute directory/);
    const paths = flag.paths({ help: 'p' });
    expect(parseFlag('p', paths, '/usr/lib/cni:/opt/cni/bin')).toBe('/usr/lib/cni:/opt/cni/bin');
    expect(pathList('/usr/lib/cni::/opt/cni/bin')).toEqual(['/usr/lib/cni', '/opt/cni/bin']);
    expect(() => parseFlag('p', paths, '/a:b')).toThrow(/\('b' is relative\)/);
    expect(() => parseFlag('p', paths, ':')).toThrow(/not a colon-separated list/);
  });
});

describe('parseFlags', () => {
  const specs = {
    root: flag.string({ help: 'cgroups root', default: 'corral' }),
    primary: flag.integer({ help: 'p', min: 1, max: 0xffff, hex: true }),
    verbose: flag.boolean({ help: 'v', default: false }),
  };

  it('applies defaults, parses given values and infers types', () => {
    const values = parseFlags(specs, { primary: '0x19', unrelated: 'ignored' });
    expect(values).toEqual({ root: 'corral', primary: 0x19, verbose: false });
    expectTypeOf(values.root).toEqualTypeOf<string>();
    expectTypeOf(values.primary).toEqualTypeOf<number | undefined>();
    expectTypeOf(values.verbose).toEqualTypeOf<boolean>();
  });

  it('leaves flags without default undefined', () => {
    expect(parseFlags(specs, {}).primary).toBeUndefined();
  });

  it('throws InvalidFlagError carrying flag and value', () => {
    try {
      parseFlags(specs, { primary: 'abc' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidFlagError);
      expect((error as InvalidFlagError).flag).toBe('primary');
      expect((error as InvalidFlagError).value).toBe('abc');
      expect((error as InvalidFlagError).code).toBe('CORRAL_INVALID_FLAG');
    }
  });
});

describe('cgroupsFlags', () => {
  it('accepts sane values and refuses escapes', async () => {
    const { cgroupsFlags } = await import('./cgroups-flags.ts');
    expect(parseFlags(cgroupsFlags, {})).toEqual({
      cgroups_hierarchy: '/sys/fs/cgroup',
      cgroups_root: 'corral',
    });
    expect(parseFlag('cgroups_root', cgroupsFlags.cgroups_root, 'corral/test-1')).toBe(
      'corral/test-1',
    );
    for (const bad of ['../x', '/abs', 'a/../b', 'a//b', '', 'a b']) {
      expect(() => parseFlag('cgroups_root', cgroupsFlags.cgroups_root, bad)).toThrow(
        InvalidFlagError,
      );
    }
    expect(() =>
      parseFlag('cgroups_hierarchy', cgroupsFlags.cgroups_hierarchy, 'relative'),
    ).toThrow(/accepted: an absolute path/);
  });
});
