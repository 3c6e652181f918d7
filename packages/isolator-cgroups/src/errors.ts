import { CorralError } from '@corral/core';

/** The container's cgroup exists in a v1 hierarchy before `prepare`: someone else's. */
export class CgroupExistsError extends CorralError {
  readonly code = 'CORRAL_CGROUP_EXISTS';
  readonly path: string;

  constructor(isolator: string, containerId: string, path: string) {
    super(
      `${isolator} cannot prepare container '${containerId}': its cgroup '${path}' already ` +
        'exists and is not one this agent created; remove it or use another container id',
    );
    this.path = path;
  }
}
