import { InvalidFlagError } from './errors.ts';

/** How a flag is shown in `--help` and parsed on the command line (`--x` / `--no-x` for booleans). */
export type FlagType = 'string' | 'boolean' | 'integer' | 'bytes' | 'enum';

/**
 * A flag an isolator (or the agent) accepts. `T` is the value the factory receives: it includes
 * `undefined` exactly when the flag has no default.
 */
export interface FlagSpec<T> {
  readonly type: FlagType;
  readonly help: string;
  /** The accepted form, for error messages and `--help`, e.g. `an integer from 1 to 0xffff`. */
  readonly accepted: string;
  readonly default?: T;
  /**
   * A flag several packages declare (e.g. `cgroups_root`); the agent accepts the repeated
   * declaration when every copy is shared and has the same default.
   */
  readonly shared?: boolean;
  /** Never shown in `/flags`, `/state` or logs. */
  readonly secret?: boolean;
  /** Parses one raw value; throws an Error whose message says what is wrong with it. */
  parse(raw: string): Exclude<T, undefined>;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec<unknown>>>;

/** The typed values a factory receives for a set of flag specs. */
export type FlagValues<F extends FlagSpecs> = {
  readonly [K in keyof F]: F[K] extends FlagSpec<infer T> ? T : never;
};

type Valued<O, T> = O extends { readonly default: T } ? T : T | undefined;

interface CommonOptions<T> {
  readonly help: string;
  readonly default?: T;
  readonly shared?: boolean;
  readonly secret?: boolean;
}

export interface IntegerOptions extends CommonOptions<number> {
  readonly min: number;
  readonly max: number;
  /** Also accept `0x…` hex (case-insensitive). */
  readonly hex?: boolean;
}

export interface EnumOptions<V extends string> extends CommonOptions<V> {
  readonly values: readonly V[];
}

export interface CustomOptions<T> extends CommonOptions<T> {
  readonly type?: FlagType;
  readonly accepted: string;
  readonly parse: (raw: string) => T;
}

const DECIMAL = /^[0-9]+$/;
const HEX = /^0x[0-9a-f]+$/i;
const BYTES = /^([0-9]+)(B|KB|MB|GB|TB)$/i;
const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

function hexText(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * Parses an integer written in decimal, or (with `hex`) as `0x…`. No sign, no whitespace, no
 * fractions: `' 25'`, `'-1'`, `'0x'` and `'1e3'` are all refused.
 */
export function parseInteger(raw: string, options: { min: number; max: number; hex?: boolean }) {
  let value: number;
  if (DECIMAL.test(raw)) value = Number.parseInt(raw, 10);
  else if (options.hex && HEX.test(raw)) value = Number.parseInt(raw.slice(2), 16);
  else
    throw new Error(
      `'${raw}' is not ${options.hex ? 'a decimal or 0x-prefixed hex' : 'a decimal'} integer`,
    );
  if (value < options.min || value > options.max) {
    const show = options.hex ? hexText : String;
    throw new Error(`${raw} is outside ${show(options.min)}..${show(options.max)}`);
  }
  return value;
}

/** Parses `<n><B|KB|MB|GB|TB>` (case-insensitive, powers of 1024) into bytes. */
export function parseBytes(raw: string): number {
  const match = BYTES.exec(raw);
  if (!match) {
    throw new Error(`'${raw}' is not a whole number followed by a unit (B, KB, MB, GB or TB)`);
  }
  const [, count = '', unit = ''] = match;
  const bytes = Number.parseInt(count, 10) * (BYTE_UNITS[unit.toUpperCase()] ?? 1);
  if (!Number.isSafeInteger(bytes)) throw new Error(`'${raw}' is too large`);
  return bytes;
}

function spec<T>(
  type: FlagType,
  accepted: string,
  options: CommonOptions<T>,
  parse: (raw: string) => T,
): FlagSpec<T> {
  return { type, accepted, ...options, parse: parse as (raw: string) => Exclude<T, undefined> };
}

/** The directories of a `flag.paths` value. */
export function pathList(value: string): string[] {
  return value.split(':').filter((dir) => dir !== '');
}

/** Builders for flag specs, with the value type inferred from the options. */
export const flag = {
  string<const O extends CommonOptions<string>>(options: O): FlagSpec<Valued<O, string>> {
    return spec<Valued<O, string>>('string', 'a string', options, (raw) => raw);
  },

  boolean<const O extends CommonOptions<boolean>>(options: O): FlagSpec<Valued<O, boolean>> {
    return spec<Valued<O, boolean>>('boolean', 'true or false', options, (raw) => {
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new Error(`'${raw}' is not a boolean`);
    });
  },

  integer<const O extends IntegerOptions>(options: O): FlagSpec<Valued<O, number>> {
    const show = options.hex ? hexText : String;
    const accepted = options.hex
      ? `an integer from ${show(options.min)} to ${show(options.max)}, hex (0x19) or decimal (25)`
      : `an integer from ${options.min} to ${options.max}`;
    return spec<Valued<O, number>>('integer', accepted, options, (raw) =>
      parseInteger(raw, options),
    );
  },

  bytes<const O extends CommonOptions<number>>(options: O): FlagSpec<Valued<O, number>> {
    return spec<Valued<O, number>>(
      'bytes',
      'a size like 64MB: a whole number and a unit B, KB, MB, GB or TB (powers of 1024)',
      options,
      parseBytes,
    );
  },

  enumeration<const V extends string, const O extends EnumOptions<V>>(
    options: O & EnumOptions<V>,
  ): FlagSpec<Valued<O, V>> {
    const accepted = `one of ${options.values.join(', ')}`;
    return spec<Valued<O, V>>('enum', accepted, options, (raw) => {
      if ((options.values as readonly string[]).includes(raw)) return raw as V;
      throw new Error(`'${raw}' is not ${accepted}`);
    });
  },

  /** An absolute directory. */
  directory<const O extends CommonOptions<string>>(options: O): FlagSpec<Valued<O, string>> {
    return spec<Valued<O, string>>('string', 'an absolute directory', options, (raw) => {
      if (!raw.startsWith('/')) throw new Error(`'${raw}' is not an absolute directory`);
      return raw;
    });
  },

  /**
   * Absolute directories separated by colons, as PATH is written. The value stays that text (so
   * `--help` and `/flags` show it as given); `pathList` splits it.
   */
  paths<const O extends CommonOptions<string>>(options: O): FlagSpec<Valued<O, string>> {
    return spec<Valued<O, string>>(
      'string',
      'absolute directories separated by colons, e.g. /usr/lib/cni:/opt/cni/bin',
      options,
      (raw) => {
        const dirs = pathList(raw);
        const relative = dirs.find((dir) => !dir.startsWith('/'));
        if (dirs.length === 0 || relative !== undefined) {
          throw new Error(
            `'${raw}' is not a colon-separated list of absolute directories${relative ? ` ('${relative}' is relative)` : ''}`,
          );
        }
        return raw;
      },
    );
  },

  custom<T, const O extends CustomOptions<T> = CustomOptions<T>>(
    options: O & CustomOptions<T>,
  ): FlagSpec<Valued<O, T>> {
    const { type = 'string', accepted, parse, ...common } = options;
    return spec<Valued<O, T>>(type, accepted, common, parse);
  },
};

/** Parses `raw` with `spec`, turning any parse failure into an `InvalidFlagError` naming the flag. */
export function parseFlag<T>(name: string, spec: FlagSpec<T>, raw: string): Exclude<T, undefined> {
  try {
    return spec.parse(raw);
  } catch (error) {
    if (error instanceof InvalidFlagError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidFlagError(
      name,
      raw,
      `Invalid value '${raw}' for flag --${name}: ${reason}; accepted: ${spec.accepted}`,
    );
  }
}

/**
 * Parses the raw values of the declared flags (absent ones take their default). Raw values for
 * flags that `specs` does not declare are ignored here; the agent reports those.
 */
export function parseFlags<F extends FlagSpecs>(
  specs: F,
  raw: Readonly<Record<string, string | undefined>>,
): FlagValues<F> {
  const values: Record<string, unknown> = {};
  for (const [name, flagSpec] of Object.entries(specs)) {
    const text = raw[name];
    values[name] = text === undefined ? flagSpec.default : parseFlag(name, flagSpec, text);
  }
  return values as FlagValues<F>;
}
