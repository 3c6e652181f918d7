import { createHash, timingSafeEqual } from 'node:crypto';
import type { Credential } from '../config/credentials.ts';

export type Realm = 'corral-agent-readonly' | 'corral-agent-readwrite';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Checks an `Authorization: Basic …` header against the credentials. Every credential is compared
 * (hashed, with timingSafeEqual) so the time taken does not reveal which part matched.
 */
export function isAuthorized(
  header: string | undefined,
  credentials: readonly Credential[],
): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice('Basic '.length).trim(), 'base64').toString('utf8');
  const parts = decoded.split(':');
  if (parts.length !== 2) return false;
  const principal = digest(parts[0] ?? '');
  const secret = digest(parts[1] ?? '');
  let matched = false;
  for (const credential of credentials) {
    const principalOk = timingSafeEqual(principal, digest(credential.principal));
    const secretOk = timingSafeEqual(secret, digest(credential.secret));
    matched = (principalOk && secretOk) || matched;
  }
  return matched;
}
