import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cgroupExists, createCgroup, destroyCgroup, listProcesses } from '@corral/cgroupfs';
import type { Namespace } from '@corral/core';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { LinuxLauncher, type RecoverableInit, type TrackingCgroups } from '../src/index.ts';
import {
  commandOf,
  isAlive,
  killGroup,
  parentOf,
  runFixture,
  Sandbox,
  sleep,
  waitFor,
} from './helpers.ts';

// A tree: two background sleeps, and a daemon that leaves the session and process group
// (setsid, then its parent exits so it is reparented).
const TREE = 'sleep 300 & (setsid sh -c "sleep 300 & exit" &) ; sleep 300 & wait';

function sessionOf(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ')[3];
  } catch {
    return undefined;
  }
}

async function startDetached(args: readonly string[]): Promise<RecoverableInit> {
  const printed = JSON.parse(await runFixture('start-detached.ts', args));
  return { id: { value: args[2] ?? '' }, ...printed };
}

for (const tracking of ['v2', 'v1-freezer'] as const satisfies readonly TrackingCgroups[]) {
  const needs =
    tracking === 'v2'
      ? { root: true, cgroup2: true }
      : { root: true, cgroupSubsystems: ['freezer'] };

  describeOnKernel(`linux launcher (${tracking})`, needs, () => {
    let sandbox: Sandbox;
    let launcher: LinuxLauncher;
    let root: string;
    const pids: number[] = [];

    function newLauncher(): LinuxLauncher {
      return new LinuxLauncher({ cgroupsRoot: root, tracking });
    }

    async function setup(): Promise<void> {
      sandbox = new Sandbox();
      root = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
      launcher = newLauncher();
    }

    afterEach(async () => {
      for (const pid of pids.splice(0)) killGroup(pid);
      if (launcher) await destroyCgroup(await launcher.hierarchy(), root, { timeoutMs: 10_000 });
      sandbox?.remove();
    });

    it('tracks the init in its cgroup before the command runs', async () => {
      await setup();
      const id = { value: 'tracked' };
      const init = await launcher.fork(id, sandbox.spec(['sleep', '300']));
      pids.push(init.pid);
      const hierarchy = await launcher.hierarchy();
      expect(listProcesses(hierarchy, launcher.cgroupOf(id))).toEqual([init.pid]);
      await init.release();
      const command = await commandOf(init.pid);
      expect(listProcesses(hierarchy, launcher.cgroupOf(id)).sort()).toEqual(
        [init.pid, command].sort(),
      );
    });

    it('roots a new cgroup namespace at the container cgroup', async () => {
      await setup();
      const init = await launcher.fork(
        { value: 'cgns' },
        sandbox.spec(['cat', '/proc/self/cgroup'], { cloneNamespaces: ['cgroup'] }),
      );
      pids.push(init.pid);
      await init.release();
      expect(await init.exited).toBe(0);
      const line = tracking === 'v2' ? /^0::\/$/m : /^\d+:freezer:\/$/m;
      expect(sandbox.stdout()).toMatch(line);
    });

    it('destroys a tree including a daemonised grandchild, and removes the cgroup', async () => {
      await setup();
      const id = { value: 'tree' };
      const init = await launcher.fork(id, sandbox.spec(['/bin/sh', '-c', TREE]));
      pids.push(init.pid);
      await init.release();
      const hierarchy = await launcher.hierarchy();
      const cgroup = launcher.cgroupOf(id);
      // Transient subshells can make up the count before setsid has run: wait for the daemon.
      const ownSession = sessionOf(init.pid);
      const daemonised = () =>
        listProcesses(hierarchy, cgroup).some((pid) => {
          const session = sessionOf(pid);
          return session !== undefined && session !== ownSession;
        });
      await waitFor('the daemonised grandchild', daemonised);
      // init, sh, 2 sleeps, the daemon's sleep
      await waitFor('the tree', () => listProcesses(hierarchy, cgroup).length >= 5);
      const members = listProcesses(hierarchy, cgroup);

      await launcher.destroy(id);
      expect(members.filter(isAlive)).toEqual([]);
      expect(cgroupExists(hierarchy, cgroup)).toBe(false);
      expect(await init.exited).toBe(9);
    });

    it('reaps a command whose init died first, leaving no zombie to PID 1', async () => {
      await setup();
      const id = { value: 'orphan' };
      const init = await launcher.fork(id, sandbox.spec(['sleep', '300']));
      pids.push(init.pid);
      const spawner = parentOf(init.pid);
      await init.release();
      const command = await commandOf(init.pid);
      process.kill(init.pid, 'SIGKILL');
      await init.exited;
      expect(parentOf(command)).toBe(spawner);
      await launcher.destroy(id);
      await waitFor(
        `the killed command ${command} to be reaped`,
        () => !existsSync(`/proc/${command}`),
      );
    });

    it('succeeds destroying an unknown container', async () => {
      await setup();
      await launcher.destroy({ value: 'never-forked' });
    });

    it('refuses a second fork of the same container', async () => {
      await setup();
      const init = await launcher.fork({ value: 'once' }, sandbox.spec(['sleep', '300']));
      pids.push(init.pid);
      await expect(launcher.fork({ value: 'once' }, sandbox.spec(['true']))).rejects.toMatchObject({
        code: 'CORRAL_CONTAINER_EXISTS',
      });
    });

    it('removes the cgroup again when the init fails to start', async () => {
      await setup();
      const id = { value: 'bad' };
      const bogus = ['bogus'] as unknown as readonly Namespace[];
      await expect(
        launcher.fork(id, sandbox.spec(['true'], { cloneNamespaces: bogus })),
      ).rejects.toThrow("unknown namespace 'bogus': accepted ipc, mnt, net, pid, uts, cgroup");
      expect(cgroupExists(await launcher.hierarchy(), launcher.cgroupOf(id))).toBe(false);
    });

    it('knows the exit of a recovered container as soon as its destroy is done', async () => {
      await setup();
      const args = [root, tracking, 'recovered', sandbox.dir, 'sleep', '300'];
      const started = await startDetached(args);
      pids.push(started.pid);
      const recovering = newLauncher();
      const { running } = await recovering.recover([started]);
      const exited = running.get('recovered');
      await recovering.destroy({ value: 'recovered' });
      // Not at the next poll of /proc (every 250 ms): the destroy saw the init go.
      const late = sleep(20).then(() => 'late');
      expect(await Promise.race([exited, late])).toBe(9);
    });

    it('recovers a container started by another process, notices its exit, reports orphans', async () => {
      await setup();
      const started = await startDetached([
        root,
        tracking,
        'survivor',
        sandbox.dir,
        'sleep',
        '300',
      ]);
      pids.push(started.pid);
      const hierarchy = await launcher.hierarchy();
      createCgroup(hierarchy, `${root}/stray`);
      createCgroup(hierarchy, `${root}/not a container id`);

      const recovering = newLauncher();
      const { running, orphans } = await recovering.recover([
        started,
        { id: { value: 'gone' }, pid: 2 ** 22 + 1, startTime: 1, statusFile: '/nonexistent' },
      ]);
      expect([...running.keys()]).toEqual(['survivor']);
      expect(orphans).toEqual([{ value: 'stray' }]);

      const command = await commandOf(started.pid);
      const killedAt = performance.now();
      process.kill(command, 'SIGTERM');
      expect(await running.get('survivor')).toBe(15);
      expect(performance.now() - killedAt).toBeLessThan(1000);

      await recovering.destroy({ value: 'survivor' });
      await recovering.destroy({ value: 'stray' });
      expect(cgroupExists(hierarchy, `${root}/survivor`)).toBe(false);
      expect(cgroupExists(hierarchy, `${root}/stray`)).toBe(false);
    });
  });
}
