import { CorralError } from '@corral/core';

/** A network configuration file Corral cannot use: the agent does not start. */
export class CniConfigError extends CorralError {
  readonly code = 'CORRAL_CNI_CONFIG';
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`CNI network configuration '${file}': ${problem}`);
    this.file = file;
  }
}

/** A CNI plugin failed, timed out or answered something Corral cannot read. */
export class CniPluginError extends CorralError {
  readonly code = 'CORRAL_CNI_PLUGIN';
  /** The plugin's CNI error code, when it gave one. */
  readonly cniCode: number | undefined;

  constructor(message: string, cniCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.cniCode = cniCode;
  }
}
