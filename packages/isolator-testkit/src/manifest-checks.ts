import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import {
  ISOLATOR_API_VERSION,
  type IsolatorDefinition,
  type IsolatorManifest,
  isValidIsolatorName,
  validateManifest,
} from '@corral/core';
import { ContractViolationError, messageOf, RULES } from './rules.ts';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The manifest as the agent's loader sees it: `validateManifest` must accept it. */
export function checkManifest(value: unknown, source: string): IsolatorManifest {
  try {
    return validateManifest(value, source);
  } catch (error) {
    throw new ContractViolationError(RULES.manifest, messageOf(error), { cause: error });
  }
}

export function checkApiVersion(value: unknown): void {
  const actual = isRecord(value) ? value.apiVersion : undefined;
  if (actual === ISOLATOR_API_VERSION) return;
  throw new ContractViolationError(
    RULES.apiVersion,
    `apiVersion is ${JSON.stringify(actual)}; build the manifest with defineManifest() from a ` +
      `@corral/core that supports '${ISOLATOR_API_VERSION}'`,
  );
}

export function checkNames(value: unknown): void {
  const isolators = isRecord(value) ? value.isolators : undefined;
  if (!Array.isArray(isolators) || isolators.length === 0) {
    throw new ContractViolationError(RULES.names, "'isolators' is not a non-empty list");
  }
  const seen = new Set<string>();
  for (const [index, definition] of isolators.entries()) {
    const name: unknown = isRecord(definition) ? definition.name : undefined;
    if (typeof name !== 'string' || !isValidIsolatorName(name)) {
      throw new ContractViolationError(
        RULES.names,
        `isolators[${index}] is named ${JSON.stringify(name)}; expected 'namespace/name' of ` +
          "lowercase letters, digits, '_' or '-', e.g. 'acme/gpu'",
      );
    }
    if (seen.has(name)) {
      throw new ContractViolationError(RULES.names, `'${name}' is defined more than once`);
    }
    seen.add(name);
  }
}

/**
 * The agent's `--modules_dir` discovery reads `corral.isolators` from package.json without
 * importing the package: a name missing there cannot be found, an extra one fails at load time.
 */
export function checkDeclared(manifest: IsolatorManifest, packageJson: string | URL): void {
  let declared: unknown;
  try {
    const parsed: unknown = JSON.parse(readFileSync(packageJson, 'utf8'));
    declared = isRecord(parsed) && isRecord(parsed.corral) ? parsed.corral.isolators : undefined;
  } catch (error) {
    throw new ContractViolationError(
      RULES.declared,
      `cannot read ${String(packageJson)}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const provided = manifest.isolators.map((definition) => definition.name);
  const example = JSON.stringify({ corral: { isolators: provided } });
  if (!Array.isArray(declared) || declared.some((name) => typeof name !== 'string')) {
    throw new ContractViolationError(
      RULES.declared,
      `${String(packageJson)} has no list of names in 'corral.isolators'; add ${example}`,
    );
  }
  const missing = provided.filter((name) => !declared.includes(name));
  const extra = declared.filter((name) => !provided.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    const problems = [
      ...(missing.length > 0 ? [`it lacks ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`the manifest does not provide ${extra.join(', ')}`] : []),
    ];
    throw new ContractViolationError(
      RULES.declared,
      `'corral.isolators' in ${String(packageJson)} is ${JSON.stringify(declared)}: ` +
        `${problems.join('; ')}; expected ${example}`,
    );
  }
}

export function checkFlagHelp(definition: IsolatorDefinition): void {
  for (const [name, spec] of Object.entries(definition.flags ?? {})) {
    for (const field of ['help', 'accepted'] as const) {
      const text: unknown = spec[field];
      if (typeof text !== 'string' || text.trim() === '') {
        throw new ContractViolationError(
          RULES.flagHelp,
          `flag --${name} of '${definition.name}' has no '${field}' text (--help shows both)`,
        );
      }
    }
  }
}

/**
 * `/flags` and `--help` show a default as `String(default)`; an operator who copies that value
 * onto the command line must get the same setting back.
 */
export function checkFlagDefaults(definition: IsolatorDefinition): void {
  for (const [name, spec] of Object.entries(definition.flags ?? {})) {
    if (spec.default === undefined) continue;
    const shown = String(spec.default);
    const where = `flag --${name} of '${definition.name}': its default ${JSON.stringify(spec.default)} is shown as '${shown}'`;
    let parsed: unknown;
    try {
      parsed = spec.parse(shown);
    } catch (error) {
      throw new ContractViolationError(
        RULES.flagDefaults,
        `${where}, which the flag refuses: ${messageOf(error)}`,
        { cause: error },
      );
    }
    if (!isDeepStrictEqual(parsed, spec.default)) {
      throw new ContractViolationError(
        RULES.flagDefaults,
        `${where}, which parses to ${JSON.stringify(parsed)}`,
      );
    }
  }
}
