import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { PosixLauncher } from '../src/index.ts';
import { isAlive, killGroup, processGroupMembers, Sandbox, waitFor } from './helpers.ts';

let sandbox: Sandbox;
const groups: number[] = [];

afterEach(() => {
  for (const pgid of groups.splice(0)) killGroup(pgid);
  sandbox?.remove();
});

// A shell with two background children and a grandchild, all in the init's process group.
const TREE = 'sleep 300 & sleep 300 & (sh -c "sleep 300" &) ; wait';

describeOnKernel('posix launcher', { root: false }, () => {
  it('destroys the whole process group of a container', async () => {
    sandbox = new Sandbox();
    const launcher = new PosixLauncher();
    const id = { value: 'tree' };
    const init = await launcher.fork(id, sandbox.spec(['/bin/sh', '-c', TREE]));
    groups.push(init.pid);
    await init.release();
    await waitFor('the tree', () => processGroupMembers(init.pid).length >= 6);
    const members = processGroupMembers(init.pid);
    await launcher.destroy(id);
    expect(processGroupMembers(init.pid)).toEqual([]);
    expect(members.filter(isAlive)).toEqual([]);
    expect(await init.exited).toBe(9);
  });

  it('refuses a second fork for the same id and destroys unknown ids', async () => {
    sandbox = new Sandbox();
    const launcher = new PosixLauncher();
    const init = await launcher.fork({ value: 'once' }, sandbox.spec(['sleep', '30']));
    groups.push(init.pid);
    await expect(launcher.fork({ value: 'once' }, sandbox.spec(['true']))).rejects.toMatchObject({
      code: 'CORRAL_CONTAINER_EXISTS',
    });
    await launcher.destroy({ value: 'never-forked' });
    await launcher.destroy({ value: 'once' });
    expect(isAlive(init.pid)).toBe(false);
  });

  it('kills an init destroyed at once after its fork, before it has its own process group', async () => {
    // The init calls setsid() after the spawner's `ready`; destroy must not miss it in between.
    sandbox = new Sandbox();
    const launcher = new PosixLauncher();
    for (let round = 0; round < 50; round++) {
      const id = { value: `early-${round}` };
      const init = await launcher.fork(id, sandbox.spec(['sleep', '30']));
      groups.push(init.pid);
      await launcher.destroy(id);
      expect(isAlive(init.pid), `init of round ${round}`).toBe(false);
    }
  });

  it('recovers a live init, notices its exit, reports no orphans and skips dead ones', async () => {
    sandbox = new Sandbox();
    const first = new PosixLauncher();
    const init = await first.fork({ value: 'kept' }, sandbox.spec(['sleep', '30']));
    groups.push(init.pid);
    await init.release();

    const second = new PosixLauncher();
    const { running, orphans } = await second.recover([
      {
        id: { value: 'kept' },
        pid: init.pid,
        startTime: init.startTime,
        statusFile: sandbox.statusFile,
      },
      { id: { value: 'gone' }, pid: 2 ** 22 + 1, startTime: 1, statusFile: '/nonexistent' },
    ]);
    expect([...running.keys()]).toEqual(['kept']);
    expect(orphans).toEqual([]);
    await second.destroy({ value: 'kept' });
    expect(await running.get('kept')).toBe(9);
  });

  it('fails recovery when two containers claim one pid', async () => {
    const launcher = new PosixLauncher();
    const init = { pid: process.pid, startTime: 1, statusFile: '/nonexistent' };
    await expect(
      launcher.recover([
        { id: { value: 'a' }, ...init },
        { id: { value: 'b' }, ...init },
      ]),
    ).rejects.toMatchObject({ code: 'CORRAL_RECOVERY_FAILED' });
  });
});
