import { CorralError } from '@corral/core';

export class UnknownIsolatorError extends CorralError {
  readonly code = 'CORRAL_UNKNOWN_ISOLATOR';
  readonly isolator: string;

  constructor(isolator: string, known: readonly string[]) {
    super(
      `Unknown isolator '${isolator}' in --isolation: known isolators are ${known.join(', ')} (third-party isolators are mapped with --modules)`,
    );
    this.isolator = isolator;
  }
}

/** An isolator package that cannot be found, read or imported. */
export class IsolatorPackageError extends CorralError {
  readonly code = 'CORRAL_ISOLATOR_PACKAGE';
  readonly isolator: string;

  constructor(isolator: string, message: string, options?: ErrorOptions) {
    super(`Isolator '${isolator}': ${message}`, options);
    this.isolator = isolator;
  }
}

/** A --modules file that cannot be used. */
export class ModulesFileError extends CorralError {
  readonly code = 'CORRAL_MODULES_FILE';
}
