import type { IsolatorContext } from './context.ts';
import { InvalidManifestError, UnsupportedApiVersionError } from './errors.ts';
import type { FlagSpecs, FlagValues } from './flags.ts';
import { isValidIsolatorName } from './isolation-list.ts';
import type { Isolator, MaybePromise } from './isolator.ts';
import { isLaunchFieldPath, type LaunchFieldPath } from './launch-fields.ts';
import { NAMESPACES, type Namespace } from './launch-info.ts';

/**
 * The isolator contract version. The agent refuses a manifest with any other value, so a package
 * built against an incompatible `@corral/core` fails at load time with a clear error instead of
 * misbehaving at launch time.
 */
export const ISOLATOR_API_VERSION = 'corral.isolator/v1';

/** What the host must offer for the isolator to work; the agent checks these before `create`. */
export interface IsolatorRequirements {
  /** Must run as root (uid 0). */
  readonly root?: boolean;
  /** Linux only. */
  readonly linux?: boolean;
  /** Namespaces the kernel must support (`/proc/self/ns/<name>` exists). */
  readonly namespaces?: readonly Namespace[];
  /** cgroup v1 subsystems that must be enabled in `/proc/cgroups`. */
  readonly cgroupSubsystems?: readonly string[];
}

export interface IsolatorDefinition<F extends FlagSpecs = FlagSpecs> {
  /** The name operators put in `--isolation`, `namespace/name`. */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  /** Flags this isolator accepts, by flag name (without `--`). */
  readonly flags?: F;
  readonly requires?: IsolatorRequirements;
  /**
   * The launch fields this isolator acts on (see `KNOWN_LAUNCH_FIELDS`), e.g.
   * `['container.rlimit_info']`. The agent refuses a launch that sets a field that neither the
   * engine nor an enabled isolator honours, so declare every field `prepare` reads; the testkit
   * checks that `prepare` really reads each one. Absent: none.
   */
  readonly honours?: readonly LaunchFieldPath[];
  /**
   * Builds the isolator from validated flag values. Throw `InvalidFlagError` for combinations of
   * flags that are invalid together, `RequirementNotMetError` for host checks beyond `requires`.
   */
  create(flags: FlagValues<F>, context: IsolatorContext): MaybePromise<Isolator>;
}

/** The default export of an isolator package. */
export interface IsolatorManifest {
  readonly apiVersion: typeof ISOLATOR_API_VERSION;
  readonly isolators: readonly IsolatorDefinition[];
}

/** Identity function that gives isolator authors flag-value type inference in `create`. */
export function defineIsolator<const F extends FlagSpecs = Record<never, never>>(
  definition: IsolatorDefinition<F>,
): IsolatorDefinition<F> {
  return definition;
}

/** Builds the manifest a package default-exports, stamped with this contract's API version. */
export function defineManifest(...isolators: IsolatorDefinition[]): IsolatorManifest {
  return { apiVersion: ISOLATOR_API_VERSION, isolators };
}

const FLAG_NAME = /^[a-z][a-z0-9_]*$/;
const FLAG_TYPES = new Set(['string', 'boolean', 'integer', 'bytes', 'enum']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkFlags(isolator: string, flags: unknown, fail: (problem: string) => never): void {
  if (flags === undefined) return;
  if (!isRecord(flags)) fail(`isolator '${isolator}': 'flags' must be an object of flag specs`);
  for (const [name, spec] of Object.entries(flags)) {
    const where = `isolator '${isolator}', flag '${name}'`;
    if (!FLAG_NAME.test(name)) {
      fail(`${where}: flag names are lowercase letters, digits and '_', starting with a letter`);
    }
    if (!isRecord(spec)) fail(`${where}: the spec must be an object (use the 'flag' builders)`);
    if (typeof spec.parse !== 'function') fail(`${where}: 'parse' must be a function`);
    if (typeof spec.help !== 'string' || spec.help === '') fail(`${where}: 'help' must be text`);
    if (typeof spec.accepted !== 'string') fail(`${where}: 'accepted' must be text`);
    if (typeof spec.type !== 'string' || !FLAG_TYPES.has(spec.type)) {
      fail(`${where}: 'type' must be one of ${[...FLAG_TYPES].join(', ')}`);
    }
  }
}

function checkHonours(isolator: string, honours: unknown, fail: (p: string) => never): void {
  if (honours === undefined) return;
  const bad = Array.isArray(honours) ? honours.find((path) => !isLaunchFieldPath(path)) : honours;
  if (Array.isArray(honours) && bad === undefined) return;
  fail(
    `isolator '${isolator}': 'honours' must list launch field paths such as 'container.rlimit_info', 'resources[name=mem]' or 'limits.cpus' (got ${JSON.stringify(bad)})`,
  );
}

function checkRequirements(isolator: string, requires: unknown, fail: (p: string) => never): void {
  if (requires === undefined) return;
  if (!isRecord(requires)) fail(`isolator '${isolator}': 'requires' must be an object`);
  const { namespaces, cgroupSubsystems } = requires;
  if (
    namespaces !== undefined &&
    !(Array.isArray(namespaces) && namespaces.every((ns) => NAMESPACES.includes(ns)))
  ) {
    fail(
      `isolator '${isolator}': 'requires.namespaces' must list names from ${NAMESPACES.join(', ')}`,
    );
  }
  if (
    cgroupSubsystems !== undefined &&
    !(Array.isArray(cgroupSubsystems) && cgroupSubsystems.every((s) => typeof s === 'string'))
  ) {
    fail(`isolator '${isolator}': 'requires.cgroupSubsystems' must be a list of subsystem names`);
  }
}

/**
 * Checks that `value` (a package's default export) is a manifest this agent can use, and returns
 * it typed. `source` names the package in errors. Throws `UnsupportedApiVersionError` for another
 * contract version and `InvalidManifestError` naming the broken rule otherwise.
 */
export function validateManifest(value: unknown, source: string): IsolatorManifest {
  const fail = (problem: string): never => {
    throw new InvalidManifestError(source, problem);
  };
  if (value === undefined) fail('the package has no default export');
  if (!isRecord(value)) fail('the default export must be an object made with defineManifest()');
  const manifest = value as Record<string, unknown>;
  if (manifest.apiVersion === undefined)
    fail(`'apiVersion' is missing (expected '${ISOLATOR_API_VERSION}')`);
  if (manifest.apiVersion !== ISOLATOR_API_VERSION) {
    throw new UnsupportedApiVersionError(source, ISOLATOR_API_VERSION, manifest.apiVersion);
  }
  const { isolators } = manifest;
  if (!Array.isArray(isolators) || isolators.length === 0) {
    fail("'isolators' must be a non-empty list of isolator definitions");
  }
  const names = new Set<string>();
  for (const [index, definition] of (isolators as unknown[]).entries()) {
    if (!isRecord(definition)) fail(`isolators[${index}] must be an object`);
    const { name } = definition as Record<string, unknown>;
    if (typeof name !== 'string' || !isValidIsolatorName(name)) {
      fail(
        `isolators[${index}].name ${JSON.stringify(name)} must be 'namespace/name', e.g. 'acme/gpu'`,
      );
    }
    const isolator = name as string;
    if (names.has(isolator)) fail(`isolator '${isolator}' is defined twice`);
    names.add(isolator);
    const { description, create, flags, requires, honours } = definition as Record<string, unknown>;
    if (typeof description !== 'string' || description === '') {
      fail(`isolator '${isolator}': 'description' must be text`);
    }
    if (typeof create !== 'function') fail(`isolator '${isolator}': 'create' must be a function`);
    checkFlags(isolator, flags, fail);
    checkRequirements(isolator, requires, fail);
    checkHonours(isolator, honours, fail);
  }
  return value as unknown as IsolatorManifest;
}

/** The definition of `name` in `manifest`, or an error listing what the package does provide. */
export function findIsolatorDefinition(
  manifest: IsolatorManifest,
  name: string,
  source: string,
): IsolatorDefinition {
  const definition = manifest.isolators.find((candidate) => candidate.name === name);
  if (!definition) {
    const provided = manifest.isolators.map((candidate) => candidate.name).join(', ');
    throw new InvalidManifestError(
      source,
      `it does not provide isolator '${name}' (it provides: ${provided})`,
    );
  }
  return definition;
}
