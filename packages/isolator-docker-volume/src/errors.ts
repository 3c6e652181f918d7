import { CorralError } from '@corral/core';

/** A volume plugin could not be found, reached, or answered with an error. */
export class VolumePluginError extends CorralError {
  readonly code = 'CORRAL_VOLUME_PLUGIN';
  readonly plugin: string;

  constructor(plugin: string, message: string, options?: ErrorOptions) {
    super(`Volume plugin '${plugin}': ${message}`, options);
    this.plugin = plugin;
  }
}
