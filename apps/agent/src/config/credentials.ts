import { readFileSync } from 'node:fs';
import { CorralError } from '@corral/core';

export interface Credential {
  readonly principal: string;
  readonly secret: string;
}

export class CredentialsError extends CorralError {
  readonly code = 'CORRAL_CREDENTIALS';
}

/** Reads `--http_credentials` (`/path` or `file:///path`): {"credentials": [{principal, secret}]}. */
export function readCredentials(location: string): Credential[] {
  const file = location.startsWith('file://') ? location.slice('file://'.length) : location;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CredentialsError(`Cannot read --http_credentials file '${file}': ${reason}`);
  }
  const list = (parsed as { credentials?: unknown } | null)?.credentials;
  const valid =
    Array.isArray(list) &&
    list.every(
      (entry) =>
        typeof entry?.principal === 'string' &&
        entry.principal !== '' &&
        !entry.principal.includes(':') &&
        typeof entry?.secret === 'string',
    );
  if (!valid) {
    throw new CredentialsError(
      `--http_credentials file '${file}' must contain {"credentials": [{"principal": "<name without ':'>", "secret": "<secret>"}]}`,
    );
  }
  if (list.length === 0) {
    throw new CredentialsError(
      `--http_credentials file '${file}' must contain at least one credential`,
    );
  }
  return list as Credential[];
}
