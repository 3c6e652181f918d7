import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { peerCredentials } from '../src/index.ts';

const NOBODY = 65534;
const NOGROUP = 65534;

describeOnKernel('peerCredentials of another user', { root: true }, () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('reports the uid, gid and pid a client runs with, not one it could claim', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'peercred-'));
    chmodSync(dir, 0o755);
    const path = join(dir, 'sock');
    const server = createServer();
    cleanups.push(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    chmodSync(path, 0o666);
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = spawn(
      process.execPath,
      ['-e', `require('node:net').createConnection(${JSON.stringify(path)}).write('uid=0\\n')`],
      { uid: NOBODY, gid: NOGROUP, stdio: 'ignore' },
    );
    cleanups.push(() => client.kill('SIGKILL'));
    const credentials = peerCredentials(await accepted);
    expect(credentials).toEqual({ pid: client.pid, uid: NOBODY, gid: NOGROUP });
  });
});
