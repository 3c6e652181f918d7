import { CorralError, type FlagSpec } from '@corral/core';

/** A command line the agent cannot make sense of (unknown flag, missing value, stray word). */
export class UsageError extends CorralError {
  readonly code = 'CORRAL_USAGE';
}

/** One `--name[=value]` or `--no-name` from the command line. */
export interface FlagToken {
  readonly name: string;
  readonly value?: string;
  readonly negated: boolean;
}

export interface CommandLine {
  readonly help: boolean;
  readonly version: boolean;
  readonly tokens: readonly FlagToken[];
}

/** Splits argv into flag tokens (Mesos style: `--name=value`, `--name`, `--no-name`). */
export function tokenize(argv: readonly string[]): CommandLine {
  let help = false;
  let version = false;
  const tokens: FlagToken[] = [];
  for (const arg of argv) {
    // `pnpm agent -- --port=1` passes the `--` through; it ends nothing here.
    if (arg === '--') continue;
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--version') version = true;
    else if (!arg.startsWith('--')) {
      throw new UsageError(`Unexpected argument '${arg}': flags look like --name=value`);
    } else {
      const text = arg.slice(2);
      const equals = text.indexOf('=');
      if (equals >= 0)
        tokens.push({ name: text.slice(0, equals), value: text.slice(equals + 1), negated: false });
      else if (text.startsWith('no-')) tokens.push({ name: text.slice(3), negated: true });
      else tokens.push({ name: text, negated: false });
    }
  }
  return { help, version, tokens };
}

/** The environment variable that can set flag `name`. */
export function envName(name: string): string {
  return `CORRAL_${name.toUpperCase()}`;
}

/**
 * Raw values of the flags in `specs`, from the command line first, then the environment
 * (`CORRAL_<NAME>`). Returns the names given on the command line that no spec declares.
 */
export function collectRawFlags(
  tokens: readonly FlagToken[],
  env: Readonly<Record<string, string | undefined>>,
  specs: ReadonlyMap<string, FlagSpec<unknown>>,
): { raw: Map<string, string>; unknown: string[] } {
  const raw = new Map<string, string>();
  const unknown: string[] = [];
  for (const token of tokens) {
    const spec = specs.get(token.name);
    if (!spec) {
      unknown.push(token.negated ? `no-${token.name}` : token.name);
      continue;
    }
    if (raw.has(token.name)) {
      throw new UsageError(`Flag --${token.name} is given more than once`);
    }
    if (token.negated || token.value === undefined) {
      if (spec.type !== 'boolean') {
        throw new UsageError(
          `Flag --${token.name} needs a value: --${token.name}=<${spec.accepted}>`,
        );
      }
      raw.set(token.name, token.negated ? 'false' : 'true');
    } else {
      raw.set(token.name, token.value);
    }
  }
  for (const name of specs.keys()) {
    const fromEnv = env[envName(name)];
    if (!raw.has(name) && fromEnv !== undefined) raw.set(name, fromEnv);
  }
  return { raw, unknown };
}
