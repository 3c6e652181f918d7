import {
  type CommandInfo,
  type ContainerID,
  type ContainerInfo,
  CorralError,
  InvalidContainerIdError,
  type Resource,
  type ScalarValue,
  validateContainerId,
} from '@corral/core';
import type { LaunchCall } from '../containers/registry.ts';

/** A v1 call body that does not validate: 400 "Failed to validate agent::Call: …". */
export class CallValidationError extends CorralError {
  readonly code = 'CORRAL_INVALID_CALL';

  constructor(problem: string) {
    super(`Failed to validate agent::Call: ${problem}`);
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `<field>` sub-object of a call, e.g. `launch_container`. */
export function callBody(call: Json, field: string): Json {
  const body = call[field];
  if (!isObject(body)) throw new CallValidationError(`Expecting '${field}' to be present`);
  return body;
}

export function containerIdOf(body: Json, field: string): ContainerID {
  try {
    validateContainerId(body.container_id);
  } catch (error) {
    if (error instanceof InvalidContainerIdError) {
      throw new CallValidationError(`'${field}.container_id' is invalid: ${error.message}`);
    }
    throw error;
  }
  const id = body.container_id as ContainerID;
  // Keep only the fields of a ContainerID, so nothing else rides along into checkpoints.
  const strip = (level: ContainerID): ContainerID =>
    level.parent ? { value: level.value, parent: strip(level.parent) } : { value: level.value };
  return strip(id);
}

function command(value: unknown): CommandInfo {
  const where = "'launch_container.command'";
  if (!isObject(value))
    throw new CallValidationError(`${where} must be present, e.g. {"value": "sleep 10"}`);
  if (value.value !== undefined && typeof value.value !== 'string') {
    throw new CallValidationError(`${where}.value must be a string`);
  }
  if (value.shell !== undefined && typeof value.shell !== 'boolean') {
    throw new CallValidationError(`${where}.shell must be true or false`);
  }
  if (
    value.arguments !== undefined &&
    !(Array.isArray(value.arguments) && value.arguments.every((arg) => typeof arg === 'string'))
  ) {
    throw new CallValidationError(`${where}.arguments must be a list of strings`);
  }
  const variables = isObject(value.environment) ? value.environment.variables : value.environment;
  if (
    variables !== undefined &&
    !(
      Array.isArray(variables) &&
      variables.every(
        (variable) =>
          isObject(variable) &&
          typeof variable.name === 'string' &&
          variable.name !== '' &&
          !variable.name.includes('=') &&
          typeof variable.value === 'string',
      )
    )
  ) {
    throw new CallValidationError(
      `${where}.environment must be {"variables": [{"name": "NAME", "value": "text"}]} with names not containing '='`,
    );
  }
  // Secrets would need a secret resolver, which Corral does not have: refuse rather than drop.
  const secret = (variables as { name: string; type?: unknown }[] | undefined)?.find(
    (variable) => variable.type !== undefined && variable.type !== 'VALUE',
  );
  if (secret) {
    throw new CallValidationError(
      `${where}.environment variable '${secret.name}' has type ${JSON.stringify(secret.type)}: only VALUE variables are supported (Corral has no secret resolver)`,
    );
  }
  return value as CommandInfo;
}

const SCALAR_EXAMPLE = '[{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}]';

/** Resources are Mesos scalars >= 0; what each means (and its range) is up to its isolator. */
function resources(value: unknown): Resource[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new CallValidationError(
      `'launch_container.resources' must be a list like ${SCALAR_EXAMPLE}`,
    );
  }
  for (const [index, resource] of value.entries()) {
    const where = `'launch_container.resources[${index}]'`;
    if (!isObject(resource) || typeof resource.name !== 'string' || resource.name === '') {
      throw new CallValidationError(`${where} must be a named resource like ${SCALAR_EXAMPLE}`);
    }
    const field = `'launch_container.resources[name=${resource.name}]'`;
    const amount = isObject(resource.scalar) ? resource.scalar.value : undefined;
    if (
      resource.type !== 'SCALAR' ||
      typeof amount !== 'number' ||
      !Number.isFinite(amount) ||
      amount < 0
    ) {
      throw new CallValidationError(
        `${field} is ${JSON.stringify(resource)}; accepted: {"type": "SCALAR", "scalar": {"value": <a finite number >= 0>}}`,
      );
    }
  }
  return value as Resource[];
}

/**
 * `limits` is Mesos' map of name to `{"value": …}`: a number >= 0, or infinity (in JSON the
 * string "infinity" in any case, which the call parser reads as `Infinity`): no limit at all, as
 * opposed to an absent limit, which lets the isolator derive one from the request.
 */
function limits(value: unknown): Record<string, ScalarValue> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    throw new CallValidationError(
      `'launch_container.limits' must map names to {"value": <number>}, e.g. {"mem": {"value": 64}}`,
    );
  }
  const parsed: Record<string, ScalarValue> = {};
  for (const [name, limit] of Object.entries(value)) {
    const given = isObject(limit) ? limit.value : undefined;
    if (!(typeof given === 'number' && given >= 0)) {
      throw new CallValidationError(
        `'launch_container.limits.${name}' is ${JSON.stringify(limit)}; accepted: {"value": <a finite number >= 0>} or {"value": "infinity"}`,
      );
    }
    parsed[name] = { value: given };
  }
  return parsed;
}

function container(value: unknown): ContainerInfo | undefined {
  if (value === undefined) return undefined;
  const where = "'launch_container.container'";
  if (!isObject(value)) throw new CallValidationError(`${where} must be an object`);
  if (value.type !== undefined && value.type !== 'MESOS') {
    throw new CallValidationError(
      `${where} is invalid: only type MESOS is supported, got ${JSON.stringify(value.type)}`,
    );
  }
  for (const field of ['linux_info', 'rlimit_info'] as const) {
    if (value[field] !== undefined && !isObject(value[field])) {
      throw new CallValidationError(`${where}.${field} must be an object`);
    }
  }
  if (value.hostname !== undefined && typeof value.hostname !== 'string') {
    throw new CallValidationError(`${where}.hostname must be a string`);
  }
  return value as ContainerInfo;
}

export function launchCall(call: Json): LaunchCall {
  const body = callBody(call, 'launch_container');
  const containerResources = resources(body.resources);
  const containerLimits = limits(body.limits);
  const containerInfo = container(body.container);
  return {
    container_id: containerIdOf(body, 'launch_container'),
    command: command(body.command),
    ...(containerResources ? { resources: containerResources } : {}),
    ...(containerLimits ? { limits: containerLimits } : {}),
    ...(containerInfo ? { container: containerInfo } : {}),
  };
}

export function signalOf(body: Json): number {
  const { signal } = body;
  if (signal === undefined) return 9;
  if (typeof signal !== 'number' || !Number.isInteger(signal) || signal < 1 || signal > 64) {
    throw new CallValidationError(
      `'kill_container.signal' must be a signal number from 1 to 64, got ${JSON.stringify(signal)}`,
    );
  }
  return signal;
}

export { isObject };
