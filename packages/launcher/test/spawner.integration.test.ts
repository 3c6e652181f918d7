import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroyCgroup, listProcesses } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import {
  isSameProcess,
  LaunchError,
  LinuxLauncher,
  type PendingInit,
  Spawner,
  type TrackingCgroups,
} from '../src/index.ts';
import {
  childrenOf,
  commandOf,
  isAlive,
  killGroup,
  parentOf,
  processGroupMembers,
  runFixture,
  Sandbox,
  waitFor,
} from './helpers.ts';

const sandboxes: Sandbox[] = [];
const groups: number[] = [];
const cgroupRoots: { launcher: LinuxLauncher; root: string }[] = [];

function newSandbox(): Sandbox {
  const sandbox = new Sandbox();
  sandboxes.push(sandbox);
  return sandbox;
}

function track(init: PendingInit): PendingInit {
  groups.push(init.pid);
  return init;
}

function newLinuxLauncher(tracking?: TrackingCgroups): { launcher: LinuxLauncher; root: string } {
  const root = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const entry = { launcher: new LinuxLauncher({ cgroupsRoot: root, tracking }), root };
  cgroupRoots.push(entry);
  return entry;
}

afterEach(async () => {
  for (const pgid of groups.splice(0)) killGroup(pgid);
  for (const { launcher, root } of cgroupRoots.splice(0)) {
    await destroyCgroup(await launcher.hierarchy(), root, { timeoutMs: 10_000 });
  }
  for (const sandbox of sandboxes.splice(0)) sandbox.remove();
});

describeOnKernel('spawner', { root: false }, () => {
  it('forks every init of a launcher from one process, in a session of its own', async () => {
    const spawner = new Spawner();
    const first = track(await spawner.fork(newSandbox().spec(['sleep', '30'])));
    const second = track(await spawner.fork(newSandbox().spec(['sleep', '30'])));
    const spawnerPid = parentOf(first.pid);
    expect(spawnerPid).not.toBe(process.pid);
    expect(parentOf(second.pid)).toBe(spawnerPid);
    expect(parentOf(spawnerPid ?? 0)).toBe(process.pid);
    // `ps` and `pkill -f` must tell them apart: an init does not show the spawner's argument.
    // The init blanks that argument and calls setsid() after the spawner has said `ready`.
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    expect(cmdline(spawnerPid ?? 0)).toContain('--spawner');
    await waitFor(
      'the first init to blank --spawner',
      () => !cmdline(first.pid).includes('--spawner'),
    );
    // setsid: each init leads its own process group, which the posix launcher kills.
    for (const init of [first, second]) {
      await waitFor(
        `init ${init.pid} to lead its group`,
        () => processGroupMembers(init.pid).join() === String(init.pid),
      );
    }
    first.abort();
    second.abort();
  });

  it('dies with an init blocked: that init never runs its command, the next fork starts a new spawner', async () => {
    const spawner = new Spawner();
    const sandbox = newSandbox();
    const marker = join(sandbox.dir, 'marker');
    const blocked = track(await spawner.fork(sandbox.spec(['touch', marker])));
    // Forked later: it must not hold the spawner's end of the blocked init's channel.
    const running = track(await spawner.fork(newSandbox().spec(['sleep', '30'])));
    await running.release();
    const spawnerPid = parentOf(blocked.pid) ?? 0;
    expect(parentOf(running.pid)).toBe(spawnerPid);

    process.kill(spawnerPid, 'SIGKILL');
    // EOF on its sync channel: it exits without a status, which reads as SIGKILL.
    expect(await blocked.exited).toBe(9);
    await expect(blocked.release()).rejects.toThrow(LaunchError);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(sandbox.statusFile)).toBe(false);

    // The running container lost its parent, not its life; its exit is still noticed.
    expect(isSameProcess(running.pid, running.startTime)).toBe(true);
    const command = await commandOf(running.pid);
    process.kill(command, 'SIGTERM');
    expect(await running.exited).toBe(15);

    const next = track(await spawner.fork(newSandbox().spec(['true'])));
    const nextSpawner = parentOf(next.pid) ?? 0;
    expect(nextSpawner).not.toBe(spawnerPid);
    expect(parentOf(nextSpawner)).toBe(process.pid);
    await next.release();
    expect(await next.exited).toBe(0);
  });

  it('fails the launches in flight when the spawner dies, with a LaunchError', async () => {
    const spawner = new Spawner();
    const sandbox = newSandbox();
    const marker = join(sandbox.dir, 'marker');
    const blocked = track(await spawner.fork(sandbox.spec(['touch', marker])));
    const spawnerPid = parentOf(blocked.pid) ?? 0;
    // Stopped, it cannot act on what follows before it dies.
    process.kill(spawnerPid, 'SIGSTOP');
    const releasing = blocked.release();
    const starting = spawner.fork(newSandbox().spec(['true']));
    process.kill(spawnerPid, 'SIGKILL');
    await expect(releasing).rejects.toThrow(new LaunchError('The container spawner exited'));
    await expect(starting).rejects.toThrow(new LaunchError('The container spawner exited'));
    expect(await blocked.exited).toBe(9);
    expect(existsSync(marker)).toBe(false);
  });
});

for (const tracking of ['v2', 'v1-freezer'] as const satisfies readonly TrackingCgroups[]) {
  const needs =
    tracking === 'v2'
      ? { root: true, cgroup2: true }
      : { root: true, cgroupSubsystems: ['freezer'] };

  describeOnKernel(`spawner with the linux launcher (${tracking})`, needs, () => {
    it('forks and releases 50 containers at once, each in its own cgroup from the start', async () => {
      const { launcher, root } = newLinuxLauncher(tracking);
      const containers = Array.from({ length: 50 }, (_, i) => ({
        id: { value: `c${i}` },
        sandbox: newSandbox(),
      }));
      const inits = await Promise.all(
        containers.map(async ({ id, sandbox }) =>
          track(await launcher.fork(id, sandbox.spec(['cat', '/proc/self/cgroup']))),
        ),
      );
      expect(new Set(inits.map((init) => init.pid)).size).toBe(50);
      // Nobody but the spawner placed them: each init is alone in its cgroup before release.
      const hierarchy = await launcher.hierarchy();
      for (const [i, { id }] of containers.entries()) {
        expect(listProcesses(hierarchy, launcher.cgroupOf(id))).toEqual([inits[i]?.pid]);
      }
      await Promise.all(inits.map((init) => init.release()));
      expect(await Promise.all(inits.map((init) => init.exited))).toEqual(inits.map(() => 0));
      const line = (name: string) =>
        new RegExp(
          tracking === 'v2' ? `^0::/${root}/${name}$` : `^\\d+:freezer:/${root}/${name}$`,
          'm',
        );
      for (const { id, sandbox } of containers) expect(sandbox.stdout()).toMatch(line(id.value));
    });
  });
}

describeOnKernel('an agent that exits', { root: true }, () => {
  it('leaves its running containers running, and a blocked init never runs its command', async () => {
    const { launcher, root } = newLinuxLauncher();
    const dir = newSandbox().dir;
    const printed = JSON.parse(await runFixture('agent-exits.ts', [root, dir])) as {
      running: { pid: number; startTime: number; statusFile: string }[];
      pending: number;
    };
    for (const init of printed.running) groups.push(init.pid);
    groups.push(printed.pending);

    await waitFor('the blocked init to exit', () => !isAlive(printed.pending));
    expect(existsSync(join(dir, 'pending', 'marker'))).toBe(false);
    for (const init of printed.running) {
      expect(isSameProcess(init.pid, init.startTime)).toBe(true);
      expect(childrenOf(init.pid).filter(isAlive)).toHaveLength(1);
      expect(existsSync(init.statusFile)).toBe(false);
    }
    // And a new agent finds them again.
    const { running } = await launcher.recover(
      printed.running.map((init, i) => ({ id: { value: ['first', 'second'][i] ?? '' }, ...init })),
    );
    expect([...running.keys()].sort()).toEqual(['first', 'second']);
  });
});
