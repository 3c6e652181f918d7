import { type ContainerConfig, InvalidContainerConfigError, resourceField } from '@corral/core';

/** A container's request for one resource and its limit: a number, or `Infinity` for none. */
export interface RequestAndLimit {
  readonly request: number;
  /** Absent: the isolator's default policy (Mesos': the request, or no quota for CPU). */
  readonly limit?: number;
}

export interface ResourceRule {
  /** Mesos' name: `cpus` or `mem`. */
  readonly name: string;
  /** The request used when the launch has none (the operator's flag). */
  readonly defaultRequest: number;
  /** The smallest finite limit accepted, with its unit, e.g. `{ value: 32, unit: 'MB' }`. */
  readonly minLimit: { readonly value: number; readonly unit: string };
}

function scalarOf(field: string, value: unknown, infinityAllowed: boolean): number {
  // A checkpointed config has JSON's null where the launch said "infinity".
  if (infinityAllowed && (value === null || value === Number.POSITIVE_INFINITY)) {
    return Number.POSITIVE_INFINITY;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidContainerConfigError(
      field,
      `${JSON.stringify(value)} is not a valid value; accepted: a finite number >= 0` +
        (infinityAllowed ? ' or "infinity"' : ''),
    );
  }
  return value;
}

/**
 * The request (`resources[name=<name>]`, else the default) and the limit (`limits.<name>`) of a
 * launch, validated: a finite request >= 0; a limit >= the request, >= the minimum, or infinity.
 */
export function requestAndLimit(config: ContainerConfig, rule: ResourceRule): RequestAndLimit {
  const requestField = resourceField(rule.name);
  const resource = config.resources?.find((candidate) => candidate.name === rule.name);
  const request =
    resource === undefined
      ? rule.defaultRequest
      : scalarOf(requestField, resource.scalar?.value, false);
  const given = config.limits?.[rule.name];
  if (given === undefined) return { request };
  const limitField = `limits.${rule.name}`;
  const limit = scalarOf(limitField, given?.value, true);
  if (limit < request) {
    throw new InvalidContainerConfigError(
      limitField,
      `${limit} is below the request ${request} (${requestField}); accepted: a limit >= the request, or "infinity"`,
    );
  }
  if (limit < rule.minLimit.value) {
    throw new InvalidContainerConfigError(
      limitField,
      `${limit} is below the smallest limit ${rule.minLimit.value} ${rule.minLimit.unit}; accepted: ` +
        `a limit >= ${rule.minLimit.value} and >= the request, or "infinity"`,
    );
  }
  return { request, limit };
}
