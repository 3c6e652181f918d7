import { CorralError } from '@corral/core';

/** A container init that could not be started, or whose command could not be exec'd. */
export class LaunchError extends CorralError {
  readonly code = 'CORRAL_LAUNCH_FAILED';
}

/** destroy() could not make every process of a container go away. */
export class DestroyError extends CorralError {
  readonly code = 'CORRAL_DESTROY_FAILED';
  readonly containerId: string;

  constructor(containerId: string, detail: string, options?: ErrorOptions) {
    super(`Failed to destroy container '${containerId}': ${detail}`, options);
    this.containerId = containerId;
  }
}

/** The containers checkpointed before a restart cannot be matched with what is running. */
export class RecoveryError extends CorralError {
  readonly code = 'CORRAL_RECOVERY_FAILED';
}
