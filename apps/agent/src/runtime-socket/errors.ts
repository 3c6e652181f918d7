import { CorralError } from '@corral/core';

/** A runtime id Corral cannot take (empty, too long, or with characters no runtime allows). */
export class InvalidRuntimeIdError extends CorralError {
  readonly code = 'CORRAL_INVALID_RUNTIME_ID';
}

/** No container with this runtime id exists for this caller. */
export class UnknownRuntimeContainerError extends CorralError {
  readonly code = 'CORRAL_UNKNOWN_RUNTIME_CONTAINER';

  constructor(id: string) {
    super(`container '${id}' does not exist`);
  }
}

/** `run` of an id that is taken: runtime-spec says the id MUST be unique. */
export class DuplicateRuntimeIdError extends CorralError {
  readonly code = 'CORRAL_DUPLICATE_RUNTIME_ID';

  constructor(id: string) {
    super(`container '${id}' already exists: runtime ids must be unique`);
  }
}

/** The verb does not apply to the container's current status (e.g. delete while running). */
export class RuntimeStatusError extends CorralError {
  readonly code = 'CORRAL_RUNTIME_WRONG_STATUS';
}

/** A bundle asks for something Corral cannot honour: one field, named. */
export class UnsupportedBundleFieldError extends CorralError {
  readonly code = 'CORRAL_UNSUPPORTED_BUNDLE_FIELD';
  readonly field: string;

  constructor(field: string, reason: string) {
    super(`config.json: '${field}' ${reason}`);
    this.field = field;
  }
}

/** A request on the runtime socket that does not parse or validate. */
export class RuntimeRequestError extends CorralError {
  readonly code = 'CORRAL_INVALID_RUNTIME_REQUEST';
}

/** The caller's uid may not use the runtime socket (see --runtime_socket_users). */
export class RuntimeCallerRefusedError extends CorralError {
  readonly code = 'CORRAL_RUNTIME_CALLER_REFUSED';
}
