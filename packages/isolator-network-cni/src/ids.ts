import { createHash } from 'node:crypto';
import { type ContainerID, containerIdToString } from '@corral/core';

/** What CNI accepts as a container id and as a network name. */
export const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Linux's HOST_NAME_MAX. */
const HOST_NAME_MAX = 64;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The `CNI_CONTAINERID` of a container: its id when CNI accepts it, else `corral-` and a digest
 * of it (Corral ids may hold `:`, `@` and more that CNI refuses). Stable, so DEL after a crash
 * sends what ADD sent; it is checkpointed anyway.
 */
export function cniContainerId(id: ContainerID): string {
  const key = containerIdToString(id);
  return CNI_NAME.test(key) ? key : `corral-${digest(key).slice(0, 32)}`;
}

/**
 * The container's default hostname: the id's own value when it is a valid hostname of at most 64
 * characters, else a shortened, cleaned form with a digest, so two long ids never share one.
 */
export function defaultHostname(id: ContainerID): string {
  const value = id.value;
  if (value.length <= HOST_NAME_MAX && /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(value)) {
    return value;
  }
  const cleaned = value.replace(/[^a-zA-Z0-9-]/g, '-').replace(/^-+|-+$/g, '') || 'corral';
  return `${cleaned.slice(0, HOST_NAME_MAX - 9).replace(/-+$/, '')}-${digest(value).slice(0, 8)}`;
}
