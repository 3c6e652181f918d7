import { InvalidContainerIdError } from './errors.ts';

/**
 * A container's identity. Nested containers carry their parent; the string form joins the chain
 * with `.` (`parent.child`), which is why `.` is not allowed inside a value.
 */
export interface ContainerID {
  readonly value: string;
  readonly parent?: ContainerID;
}

/**
 * 242 is Mesos' limit (the AUFS entry-name limit); we count UTF-8 bytes, not characters, because
 * the value becomes a path component and NAME_MAX (255) is a byte limit.
 */
export const MAX_CONTAINER_ID_BYTES = 242;

// C0 and C1 control characters and DEL; plus the characters the id grammar reserves.
const CONTROL_CHARACTER = /\p{Cc}/u;
const RESERVED_CHARACTER = /[/\\. ]/;

function describe(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

/**
 * Throws `InvalidContainerIdError` naming the broken rule when `value` cannot be a ContainerID
 * value. This is a security boundary: ids become directory names under the work and runtime dirs.
 */
export function validateContainerIdValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new InvalidContainerIdError(
      'not_a_string',
      value,
      `ContainerID value must be a string, got ${value === null ? 'null' : typeof value}`,
    );
  }
  if (value.length === 0) {
    throw new InvalidContainerIdError('empty', value, 'ContainerID value must not be empty');
  }
  if (value === '.' || value === '..') {
    throw new InvalidContainerIdError(
      'reserved_name',
      value,
      `ContainerID value '${value}' is disallowed: '.' and '..' are reserved path names`,
    );
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_CONTAINER_ID_BYTES) {
    throw new InvalidContainerIdError(
      'too_long',
      value,
      `ContainerID value ${describe(value)} is ${bytes} bytes long; the maximum is ${MAX_CONTAINER_ID_BYTES} bytes (UTF-8)`,
    );
  }
  if (CONTROL_CHARACTER.test(value) || RESERVED_CHARACTER.test(value)) {
    throw new InvalidContainerIdError(
      'invalid_characters',
      value,
      `ContainerID value ${describe(value)} contains invalid characters: '/', '\\', '.', space and control characters are not allowed`,
    );
  }
}

/**
 * Validates an id and all its parents. A parent's error is prefixed so the caller knows which
 * level was wrong.
 */
export function validateContainerId(id: unknown): asserts id is ContainerID {
  if (typeof id !== 'object' || id === null) {
    throw new InvalidContainerIdError(
      'not_a_string',
      id,
      'ContainerID must be an object like {"value": "my-container"}',
    );
  }
  const { value, parent } = id as { value?: unknown; parent?: unknown };
  validateContainerIdValue(value);
  if (parent !== undefined) {
    try {
      validateContainerId(parent);
    } catch (error) {
      if (error instanceof InvalidContainerIdError) {
        throw new InvalidContainerIdError(
          error.rule,
          error.value,
          `'ContainerID.parent' is invalid: ${error.message}`,
        );
      }
      throw error;
    }
  }
}

/** `parent.child` form, used in logs, paths and map keys. */
export function containerIdToString(id: ContainerID): string {
  return id.parent ? `${containerIdToString(id.parent)}.${id.value}` : id.value;
}

/** Inverse of `containerIdToString`; validates every level. */
export function parseContainerId(text: string): ContainerID {
  const id = text
    .split('.')
    .reduce<ContainerID | undefined>(
      (parent, value) => (parent ? { value, parent } : { value }),
      undefined,
    );
  validateContainerId(id);
  return id;
}

/** The top-level ancestor of `id` (itself when it has no parent). */
export function rootContainerId(id: ContainerID): ContainerID {
  return id.parent ? rootContainerId(id.parent) : id;
}
