import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** Who is at the other end of a unix socket, as the kernel recorded it when they connected. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/** The kernel would not say who the peer is (not a unix socket, or already closed). */
export class PeerCredentialsError extends Error {
  readonly code = 'CORRAL_PEER_CREDENTIALS';
  readonly errno: string | undefined;

  constructor(detail: string, errno?: string, options?: ErrorOptions) {
    super(`cannot read the peer credentials of the socket: ${detail}`, options);
    this.name = new.target.name;
    this.errno = errno;
  }
}

interface Addon {
  peerCredentials(fd: number): PeerCredentials;
}

// src/ and dist/ are both one level below the package root, beside native/.
const addon = createRequire(import.meta.url)('../native/build/peercred.node') as Addon;

/**
 * getsockopt(SO_PEERCRED) of a connected unix socket: the pid, uid and gid of the process that
 * connected, as the kernel recorded them at connect(2). A client cannot choose what this returns.
 */
export function peerCredentials(socket: Socket): PeerCredentials {
  // libuv's pipe handle exposes its descriptor as `fd` on Unix; Node has no public accessor.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new PeerCredentialsError(`the socket has no file descriptor (got ${String(fd)})`);
  }
  try {
    return addon.peerCredentials(fd);
  } catch (error) {
    const errno = (error as { code?: unknown }).code;
    throw new PeerCredentialsError(
      (error as Error).message,
      typeof errno === 'string' ? errno : undefined,
      { cause: error },
    );
  }
}
