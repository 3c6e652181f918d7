import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerCredentialsError, peerCredentials } from './index.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A unix server in a temp dir; resolves with the server side of one connection. */
async function connectedPair(): Promise<{ server: Server; accepted: Socket; client: Socket }> {
  const dir = mkdtempSync(join(tmpdir(), 'peercred-'));
  const path = join(dir, 'sock');
  const server = createServer();
  cleanups.push(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = createConnection(path);
  cleanups.push(() => client.destroy());
  return { server, accepted: await accepted, client };
}

describe('peerCredentials', () => {
  it('reports the connecting process as the kernel sees it', async () => {
    const { accepted } = await connectedPair();
    expect(peerCredentials(accepted)).toEqual({
      pid: process.pid,
      uid: process.getuid?.(),
      gid: process.getgid?.(),
    });
  });

  it('refuses a socket that has no descriptor any more', async () => {
    const { accepted } = await connectedPair();
    accepted.destroy();
    expect(() => peerCredentials(accepted)).toThrow(PeerCredentialsError);
  });
});
