import { type IsolatorRequirements, unmetRequirement } from '@corral/core';
import { describe, it } from 'vitest';

/**
 * `describe` for suites that need more than an ordinary user has. Where a requirement is missing,
 * the suite is skipped on a workstation but fails under `CI=true`, so a CI machine that silently
 * lacks root or a kernel feature cannot pass by running nothing.
 */
export function describeOnHost(
  name: string,
  requires: IsolatorRequirements,
  suite: () => void,
): void {
  const unmet = unmetRequirement(requires);
  describeIfPossible(name, unmet === undefined ? undefined : `needs ${unmet}`, suite);
}

/**
 * `describe` when `missing` is undefined; otherwise skipped on a workstation and failing under
 * `CI=true`, with `missing` (what the host lacks) as the reason.
 */
export function describeIfPossible(
  name: string,
  missing: string | undefined,
  suite: () => void,
): void {
  if (missing === undefined) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it requires (required under CI=true)', () => {
        throw new Error(`${name}: ${missing}; under CI=true every suite must run`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${missing})`, suite);
  }
}
