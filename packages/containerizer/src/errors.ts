import { CorralError } from '@corral/core';

/** Two isolators asked for the same exclusive launch setting (Mesos §1.4). */
export class LaunchInfoConflictError extends CorralError {
  readonly code = 'CORRAL_LAUNCH_INFO_CONFLICT';
  readonly field: string;
  readonly isolators: readonly [string, string];

  constructor(field: string, first: string, second: string) {
    super(
      `Isolators '${first}' and '${second}' both set '${field}' in their launch info: only one isolator may set it`,
    );
    this.field = field;
    this.isolators = [first, second];
  }
}

/** A launch-info field that the launcher cannot honour; refusing beats silently ignoring it. */
export class UnsupportedLaunchInfoError extends CorralError {
  readonly code = 'CORRAL_UNSUPPORTED_LAUNCH_INFO';
  readonly field: string;

  constructor(field: string, isolators: readonly string[]) {
    super(
      `Launch info field '${field}' (set by ${isolators.map((name) => `'${name}'`).join(', ')}) is not supported by Corral's launcher yet`,
    );
    this.field = field;
  }
}
