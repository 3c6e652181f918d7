import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface UnixServer {
  readonly path: string;
  /** The server side of the next connection. */
  accepted(): Promise<Socket>;
  close(): void;
}

/** A unix server on a world-connectable socket in a temp dir of its own. */
export async function listenInTempDir(): Promise<UnixServer> {
  const dir = mkdtempSync(join(tmpdir(), 'peercred-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'sock');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  chmodSync(path, 0o666);
  return {
    path,
    accepted: () => new Promise((resolve) => server.once('connection', resolve)),
    close() {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
