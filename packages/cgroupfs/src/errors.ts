/**
 * A cgroup filesystem operation failed. `operation` is the verb that failed (`rmdir`, `write`,
 * `kill`, …), `path` the file or directory it acted on and `errno` the kernel's answer (`EBUSY`)
 * when there was one, so callers can switch on them without parsing the message.
 */
export class CgroupError extends Error {
  readonly code = 'CORRAL_CGROUP_ERROR';
  readonly operation: string;
  readonly path: string;
  readonly errno: string | undefined;

  constructor(
    operation: string,
    path: string,
    details: { errno?: string; detail?: string; cause?: unknown } = {},
  ) {
    const errno = details.errno === undefined ? '' : ` (${details.errno})`;
    const detail = details.detail === undefined ? '' : `: ${details.detail}`;
    super(
      `cgroup ${operation} failed on '${path}'${errno}${detail}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = new.target.name;
    this.operation = operation;
    this.path = path;
    this.errno = details.errno;
  }
}

/** Why `prepareV1Hierarchy` or `unmountHierarchy` refused or failed. */
export type CgroupMountFailure =
  | 'no_cgroups'
  | 'not_root'
  | 'unknown_subsystem'
  | 'disabled_subsystem'
  | 'attached_elsewhere'
  | 'invalid_target'
  | 'lock_timeout'
  | 'mount_failed'
  | 'unmount_failed';

/** Mounting or unmounting a cgroup hierarchy was refused or failed. */
export class CgroupMountError extends Error {
  readonly code = 'CORRAL_CGROUP_MOUNT_ERROR';
  readonly reason: CgroupMountFailure;
  /** The subsystem asked for, or undefined for an unmount. */
  readonly subsystem: string | undefined;

  constructor(
    reason: CgroupMountFailure,
    subsystem: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
    this.reason = reason;
    this.subsystem = subsystem;
  }
}

/** The `code` of a Node system error (`ENOENT`, `EBUSY`, …), or undefined for anything else. */
export function errnoOf(error: unknown): string | undefined {
  // Node system errors carry a numeric `errno` next to the `code`; our own errors do not.
  if (
    error instanceof Error &&
    'errno' in error &&
    typeof error.errno === 'number' &&
    'code' in error &&
    typeof error.code === 'string'
  ) {
    return error.code;
  }
  return undefined;
}

/**
 * A resource controller is usable neither as cgroup v1 (not mounted and not mountable) nor in
 * the cgroup v2 hierarchy (not listed in its `cgroup.controllers`).
 */
export class CgroupControllerUnavailableError extends Error {
  readonly code = 'CORRAL_CGROUP_CONTROLLER_UNAVAILABLE';
  readonly controller: string;

  constructor(controller: string, v1: string, v2: string, options?: ErrorOptions) {
    super(
      `The cgroup controller '${controller}' is not available: as cgroup v1, ${v1}; ` +
        `as cgroup v2, ${v2}. Mount it (v1), enable it in the cgroup v2 hierarchy, or leave ` +
        `the isolator that needs it out of --isolation`,
      options,
    );
    this.name = new.target.name;
    this.controller = controller;
  }
}
