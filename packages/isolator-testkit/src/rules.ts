import { CorralError, ISOLATOR_API_VERSION } from '@corral/core';

/**
 * The rules the kit checks, in the words its failure messages use. Each is a guarantee the agent
 * relies on (see `Isolator` in `@corral/core` and Mesos' isolator header notes).
 */
export const RULES = {
  manifest: 'the default export is a manifest the agent accepts',
  apiVersion: `apiVersion is '${ISOLATOR_API_VERSION}'`,
  names: 'isolator names are namespace/name and unique',
  declared: "package.json 'corral.isolators' lists exactly the manifest's isolators",
  flagHelp: 'every flag has help text and an accepted form',
  flagDefaults: 'every flag default, shown as the agent shows it, parses back to itself',
  create: 'create() builds an isolator from the flag values',
  recoverNothing: 'recover with no containers succeeds',
  lifecycle: 'prepare → isolate → status/usage → cleanup completes',
  launchInfo: 'prepare returns a launch info the engine can merge',
  honours: 'prepare reads every launch field the manifest says the isolator honours',
  probeSees: 'the probe finds the resources of a running container',
  cleanupUnknown: 'cleanup of an unknown container succeeds',
  cleanupAfterFailedPrepare: 'cleanup is safe once after a failed prepare',
  recover: 'recover with states and orphans rebuilds state so that cleanup works afterwards',
  noLeftovers: 'no resources remain after cleanup',
} as const;

export type ContractRule = (typeof RULES)[keyof typeof RULES];

/** An isolator (or its manifest) broke a rule of the contract; the message names the rule. */
export class ContractViolationError extends CorralError {
  readonly code = 'CORRAL_CONTRACT_VIOLATION';
  readonly rule: ContractRule;

  constructor(rule: ContractRule, detail: string, options?: ErrorOptions) {
    super(`contract rule '${rule}' broken: ${detail}`, options);
    this.rule = rule;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs one call of the isolator, turning a rejection into a violation of `rule`. */
export async function step<T>(rule: ContractRule, call: string, run: () => T): Promise<Awaited<T>> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ContractViolationError) throw error;
    throw new ContractViolationError(rule, `${call} threw: ${messageOf(error)}`, { cause: error });
  }
}
