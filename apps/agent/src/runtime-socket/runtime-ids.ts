import { createHash } from 'node:crypto';
import type { ContainerID } from '@corral/core';
import { InvalidRuntimeIdError } from './errors.ts';

/** runc's limit is the path length; 1024 keeps ids readable and records small. */
const MAX_RUNTIME_ID_LENGTH = 1024;
/** Room for `oci-`, `-` and the digest within Corral's 242-character id limit. */
const READABLE_PART = 200;

/**
 * Runtime ids follow the runtime's rules, not Corral's: Slurm's `%n.%u.%j.%s.%t` makes ids such as
 * `node1.alice.42.0.0`, and Corral container ids refuse dots. A runtime id maps to
 * `oci-<id with every other character as _>-<12 hex of its SHA-256>`: readable in /containers,
 * and distinct for ids that differ only in the replaced characters (`a.b` and `a_b`).
 */
export function containerIdForRuntimeId(runtimeId: string): ContainerID {
  if (runtimeId === '' || runtimeId.length > MAX_RUNTIME_ID_LENGTH) {
    throw new InvalidRuntimeIdError(
      `runtime id ${JSON.stringify(runtimeId.slice(0, 40))} must be 1 to ${MAX_RUNTIME_ID_LENGTH} characters`,
    );
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f/]/.test(runtimeId)) {
    throw new InvalidRuntimeIdError(
      `runtime id ${JSON.stringify(runtimeId)} contains '/' or a control character, which runc refuses too`,
    );
  }
  const readable = runtimeId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, READABLE_PART);
  const digest = createHash('sha256').update(runtimeId).digest('hex').slice(0, 12);
  return { value: `oci-${readable}-${digest}` };
}
