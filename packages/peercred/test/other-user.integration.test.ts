import { spawn } from 'node:child_process';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { peerCredentials } from '../src/index.ts';
import { listenInTempDir } from './unix-server.ts';

const NOBODY = 65534;
const NOGROUP = 65534;

describeOnKernel('peerCredentials of another user', { root: true }, () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('reports the uid, gid and pid a client runs with, not one it could claim', async () => {
    const server = await listenInTempDir();
    cleanups.push(() => server.close());
    const accepted = server.accepted();
    const client = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createConnection(${JSON.stringify(server.path)}).write('uid=0\\n')`,
      ],
      { uid: NOBODY, gid: NOGROUP, stdio: 'ignore' },
    );
    cleanups.push(() => client.kill('SIGKILL'));
    expect(peerCredentials(await accepted)).toEqual({ pid: client.pid, uid: NOBODY, gid: NOGROUP });
  });
});
