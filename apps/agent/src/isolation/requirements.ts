import {
  type HostFacts,
  type IsolatorRequirements,
  RequirementNotMetError,
  thisHost,
  unmetRequirement,
} from '@corral/core';

/** Throws RequirementNotMetError naming the isolator and its first unmet requirement. */
export function checkRequirements(
  isolator: string,
  requires: IsolatorRequirements | undefined,
  host: HostFacts = thisHost,
): void {
  const unmet = unmetRequirement(requires, host);
  if (unmet !== undefined) {
    throw new RequirementNotMetError(
      isolator,
      unmet,
      `leave '${isolator}' out of --isolation or run the agent where it is met`,
    );
  }
}
