import { InvalidIsolationError } from './errors.ts';

/** `namespace/name`: lowercase letters, digits, `_` and `-`, e.g. `cgroups/net_cls`. */
const ISOLATOR_NAME = /^[a-z0-9][a-z0-9_-]*\/[a-z0-9][a-z0-9_-]*$/;

export function isValidIsolatorName(name: string): boolean {
  return ISOLATOR_NAME.test(name);
}

/**
 * Parses an `--isolation` value: comma-separated names, whitespace around each trimmed. Unlike
 * Mesos, empty entries are an error rather than silently dropped, since `a,,b` is almost always a
 * typo; duplicates are an error too.
 */
export function parseIsolationList(raw: string): string[] {
  const example = "e.g. 'posix/cpu,posix/mem'";
  const names = raw.split(',').map((entry) => entry.trim());
  if (names.length === 1 && names[0] === '') {
    throw new InvalidIsolationError(`--isolation is empty: list at least one isolator, ${example}`);
  }
  const seen = new Set<string>();
  names.forEach((name, index) => {
    if (name === '') {
      throw new InvalidIsolationError(
        `--isolation '${raw}' has an empty entry at position ${index + 1}: expected comma-separated isolator names, ${example}`,
      );
    }
    if (!isValidIsolatorName(name)) {
      throw new InvalidIsolationError(
        `--isolation entry '${name}' is not a valid isolator name: expected 'namespace/name' of lowercase letters, digits, '_' or '-', e.g. 'cgroups/net_cls'`,
      );
    }
    if (seen.has(name)) {
      throw new InvalidIsolationError(
        `--isolation '${raw}' names '${name}' more than once: list each isolator once`,
      );
    }
    seen.add(name);
  });
  return names;
}
