import {
  findIsolatorDefinition,
  type IsolatorDefinition,
  type IsolatorManifest,
  type IsolatorRequirements,
  validateManifest,
} from '@corral/core';
import { afterEach, describe, it } from 'vitest';
import { Bench, type LifecycleOptions } from './harness.ts';
import { checkHonours } from './honours-check.ts';
import { describeOnHost } from './host-gate.ts';
import {
  checkCleanupAfterFailedPrepare,
  checkCleanupUnknown,
  checkCreate,
  checkLifecycle,
  checkRecover,
  checkRecoverNothing,
} from './lifecycle-checks.ts';
import {
  checkApiVersion,
  checkDeclared,
  checkFlagDefaults,
  checkFlagHelp,
  checkManifest,
  checkNames,
} from './manifest-checks.ts';
import { messageOf, RULES } from './rules.ts';

export interface ConformanceOptions extends LifecycleOptions {
  /** The isolator to run the lifecycle rules on; needed when the manifest defines several. */
  readonly isolator?: string;
  /** Names the package in messages and test names, e.g. `'@acme/corral-quota'`. */
  readonly source?: string;
  /** The package's package.json (`new URL('../package.json', import.meta.url)`). */
  readonly packageJson?: string | URL;
  /**
   * What the host must offer beyond the isolator's own `requires` (which the kit always honours).
   * When something is missing the lifecycle rules are skipped, or fail under `CI=true`.
   */
  readonly requires?: IsolatorRequirements;
  /**
   * Values for launch fields the isolator honours that Corral's catalogue does not know (the kit
   * takes the catalogue's example for the others), by path: `{ 'container.acme': { … } }`.
   */
  readonly fieldExamples?: Readonly<Record<string, unknown>>;
}

function union<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): T[] | undefined {
  return a || b ? [...new Set([...(a ?? []), ...(b ?? [])])] : undefined;
}

function mergeRequirements(
  a: IsolatorRequirements = {},
  b: IsolatorRequirements = {},
): IsolatorRequirements {
  const namespaces = union(a.namespaces, b.namespaces);
  const cgroupSubsystems = union(a.cgroupSubsystems, b.cgroupSubsystems);
  return {
    ...((a.root || b.root) && { root: true }),
    ...((a.linux || b.linux) && { linux: true }),
    ...(namespaces && { namespaces }),
    ...(cgroupSubsystems && { cgroupSubsystems }),
  };
}

/** The definition the lifecycle rules run on, or why there is none. */
function subjectOf(
  manifest: IsolatorManifest,
  options: ConformanceOptions,
  source: string,
): IsolatorDefinition | string {
  if (options.isolator !== undefined) {
    try {
      return findIsolatorDefinition(manifest, options.isolator, source);
    } catch (error) {
      return messageOf(error);
    }
  }
  const [only, ...others] = manifest.isolators;
  if (only && others.length === 0) return only;
  const names = manifest.isolators.map((definition) => definition.name).join(', ');
  return `the manifest defines ${names}: name the one to exercise with the 'isolator' option (call describeIsolatorConformance once per isolator)`;
}

/**
 * Registers vitest tests that check `manifest` (a package's default export) and the lifecycle
 * contract of one of its isolators. Call it at the top level of a test file:
 *
 * ```ts
 * import manifest from '../src/index.ts';
 * describeIsolatorConformance(manifest, { probe: (id) => leftovers(id) });
 * ```
 *
 * A failing test says which rule of the contract was broken. The lifecycle rules run only where
 * the host meets the isolator's `requires` (plus `options.requires`): elsewhere they are skipped,
 * and under `CI=true` they fail.
 */
export function describeIsolatorConformance(manifest: unknown, options: ConformanceOptions): void {
  const source = options.source ?? 'the package';
  const title = options.isolator === undefined ? source : `${source} (${options.isolator})`;
  describe(`isolator contract: ${title}`, () => {
    it(RULES.manifest, () => {
      checkManifest(manifest, source);
    });
    it(RULES.apiVersion, () => checkApiVersion(manifest));
    it(RULES.names, () => checkNames(manifest));
    const packageJson = options.packageJson;
    if (packageJson !== undefined) {
      it(RULES.declared, () => checkDeclared(checkManifest(manifest, source), packageJson));
    }

    let valid: IsolatorManifest;
    try {
      valid = validateManifest(manifest, source);
    } catch {
      return; // The manifest rule fails and says why; nothing below can run without a manifest.
    }
    for (const definition of valid.isolators) {
      if (Object.keys(definition.flags ?? {}).length === 0) continue;
      it(`${definition.name}: ${RULES.flagHelp}`, () => checkFlagHelp(definition));
      it(`${definition.name}: ${RULES.flagDefaults}`, () => checkFlagDefaults(definition));
    }

    const subject = subjectOf(valid, options, source);
    if (typeof subject === 'string') {
      it('lifecycle rules', () => {
        throw new Error(`cannot check the lifecycle: ${subject}`);
      });
      return;
    }
    const requires = mergeRequirements(subject.requires, options.requires);
    describeOnHost(`${subject.name}: lifecycle`, requires, () => {
      const benches: Bench[] = [];
      const bench = (): Bench => {
        const made = new Bench(subject, options);
        benches.push(made);
        return made;
      };
      afterEach(async () => {
        for (const made of benches.splice(0)) await made.dispose();
      });

      it(RULES.create, () => checkCreate(bench()));
      it(RULES.recoverNothing, () => checkRecoverNothing(bench()));
      it(RULES.lifecycle, () => checkLifecycle(bench()));
      it(RULES.cleanupUnknown, () => checkCleanupUnknown(bench()));
      if (options.invalidConfig) {
        it(RULES.cleanupAfterFailedPrepare, () => checkCleanupAfterFailedPrepare(bench()));
      }
      it(RULES.recover, () => checkRecover(bench()));
      if ((subject.honours ?? []).length > 0) {
        it(RULES.honours, () => checkHonours(bench(), options.fieldExamples));
      }
    });
  });
}
