/**
 * Every error Corral raises on purpose carries a stable `code` that callers (the agent's HTTP
 * layer, the CLI, tests) can switch on without parsing messages. Messages name the bad value and
 * what is accepted.
 */
export abstract class CorralError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * True for any Corral error, including one thrown by a plugin that bundles its own copy of
 * `@corral/core` (where `instanceof` fails): it looks at the stable `CORRAL_*` code.
 */
export function isCorralError(value: unknown): value is CorralError {
  const code = value instanceof Error ? (value as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('CORRAL_');
}

/** Which ContainerID rule a value broke (see `validateContainerId`). */
export type ContainerIdRule =
  | 'empty'
  | 'too_long'
  | 'reserved_name'
  | 'invalid_characters'
  | 'not_a_string';

export class InvalidContainerIdError extends CorralError {
  readonly code = 'CORRAL_INVALID_CONTAINER_ID';
  readonly rule: ContainerIdRule;
  readonly value: unknown;

  constructor(rule: ContainerIdRule, value: unknown, message: string) {
    super(message);
    this.rule = rule;
    this.value = value;
  }
}

export class InvalidIsolationError extends CorralError {
  readonly code = 'CORRAL_INVALID_ISOLATION';
}

/** A flag value that its declared flag refuses. */
export class InvalidFlagError extends CorralError {
  readonly code = 'CORRAL_INVALID_FLAG';
  readonly flag: string;
  readonly value: string | undefined;

  constructor(flag: string, value: string | undefined, message: string) {
    super(message);
    this.flag = flag;
    this.value = value;
  }
}

/** A plugin package whose default export is not a usable isolator manifest. */
export class InvalidManifestError extends CorralError {
  readonly code = 'CORRAL_INVALID_MANIFEST';
  readonly source: string;

  constructor(source: string, problem: string) {
    super(`Isolator package '${source}' has an invalid manifest: ${problem}`);
    this.source = source;
  }
}

export class UnsupportedApiVersionError extends CorralError {
  readonly code = 'CORRAL_UNSUPPORTED_API_VERSION';
  readonly source: string;
  readonly expected: string;
  readonly actual: unknown;

  constructor(source: string, expected: string, actual: unknown) {
    super(
      `Isolator package '${source}' was built for isolator API ${JSON.stringify(actual)}, ` +
        `but this agent supports '${expected}': install a version of the package built for '${expected}'`,
    );
    this.source = source;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An isolator's declared requirement (root, Linux, a kernel feature) is not met on this host. */
export class RequirementNotMetError extends CorralError {
  readonly code = 'CORRAL_REQUIREMENT_NOT_MET';
  readonly isolator: string;
  readonly requirement: string;

  constructor(isolator: string, requirement: string, detail: string) {
    super(`Isolator '${isolator}' requires ${requirement}: ${detail}`);
    this.isolator = isolator;
    this.requirement = requirement;
  }
}

/** A per-container option (ContainerConfig field) that an isolator or the engine refuses. */
export class InvalidContainerConfigError extends CorralError {
  readonly code = 'CORRAL_INVALID_CONTAINER_CONFIG';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`'${field}' is invalid: ${message}`);
    this.field = field;
  }
}

export class UnknownContainerError extends CorralError {
  readonly code = 'CORRAL_UNKNOWN_CONTAINER';
  readonly containerId: string;

  constructor(containerId: string) {
    super(`Unknown container '${containerId}'`);
    this.containerId = containerId;
  }
}

export class ContainerExistsError extends CorralError {
  readonly code = 'CORRAL_CONTAINER_EXISTS';
  readonly containerId: string;

  constructor(containerId: string) {
    super(`Container '${containerId}' already exists`);
    this.containerId = containerId;
  }
}

/**
 * A finite resource an isolator hands out per container (net_cls handles, ports, …) is used up.
 * It fails the one launch that asked, never the agent.
 */
export class ResourceExhaustedError extends CorralError {
  readonly code = 'CORRAL_RESOURCE_EXHAUSTED';
  readonly resource: string;

  constructor(resource: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.resource = resource;
  }
}
