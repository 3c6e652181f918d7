import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenInTempDir } from '../test/unix-server.ts';
import { PeerCredentialsError, peerCredentials } from './index.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** The server side of a connection this process makes. */
async function acceptedFromSelf(): Promise<Socket> {
  const server = await listenInTempDir();
  cleanups.push(() => server.close());
  const accepted = server.accepted();
  const client = createConnection(server.path);
  cleanups.push(() => client.destroy());
  return accepted;
}

describe('peerCredentials', () => {
  it('reports the connecting process as the kernel sees it', async () => {
    expect(peerCredentials(await acceptedFromSelf())).toEqual({
      pid: process.pid,
      uid: process.getuid?.(),
      gid: process.getgid?.(),
    });
  });

  it('refuses a socket that has no descriptor any more', async () => {
    const accepted = await acceptedFromSelf();
    accepted.destroy();
    expect(() => peerCredentials(accepted)).toThrow(PeerCredentialsError);
  });
});
