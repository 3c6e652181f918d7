import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assignProcess,
  cgroupExists,
  createCgroup,
  listChildCgroups,
  listProcesses,
  writeControl,
} from '../src/cgroup.ts';
import { destroyCgroup, type KillMethod, killCgroupProcesses, killMethod } from '../src/destroy.ts';
import { CgroupError } from '../src/errors.ts';
import { findCgroup2Mount, findV1Hierarchy } from '../src/mounts.ts';
import { freezeCgroup, readFreezerState } from '../src/v1/freezer.ts';
import {
  isRunning,
  killGroup,
  processState,
  spawnInCgroup,
  uniqueRoot,
  waitFor,
} from './support.ts';

const SLEEPERS = (count: number) =>
  `i=0; while [ $i -lt ${count} ]; do sleep 1000 & i=$((i+1)); done`;
/**
 * Forks a short-lived `sleep` every ~10 ms until killed. Bounded: at most 6000 forks in all and
 * about 100 alive at once, so a failed kill cannot run away.
 */
const FORKER = `sh -c 'i=0; while [ $i -lt 6000 ]; do sleep 1 & sleep 0.01; i=$((i+1)); done' &`;

interface Tree {
  readonly leaders: ChildProcess[];
  /** Every pid in the tree just before the kill, as the kernel listed it. */
  readonly pids: number[];
}

function treeProcesses(hierarchy: string, cgroup: string): number[] {
  return [cgroup, ...listChildCgroups(hierarchy, cgroup, { recursive: true })].flatMap((c) =>
    listProcesses(hierarchy, c),
  );
}

/** Tracks the longest gap between 5 ms ticks: how long the event loop was blocked. */
function watchEventLoop(): () => number {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  return () => {
    clearInterval(timer);
    return worst;
  };
}

describeOnKernel(
  'killing and destroying cgroups on the real kernel',
  {
    root: true,
    cgroupSubsystems: ['freezer', 'pids'],
    cgroup2: true,
  },
  () => {
    const made: { hierarchy: string; cgroup: string }[] = [];
    const leaders: ChildProcess[] = [];

    afterEach(async () => {
      // Independent of the code under test: each tree is a process group.
      for (const leader of leaders.splice(0)) killGroup(leader);
      for (const { hierarchy, cgroup } of made.splice(0)) {
        await destroyCgroup(hierarchy, cgroup, { timeoutMs: 20_000 });
      }
    });

    /**
     * 50 processes in `<root>/job` and `<root>/job/nested`: two shells, 47 sleepers and one
     * process that keeps forking. Resolves once the kernel lists them all.
     */
    async function startTree(hierarchy: string, root: string): Promise<Tree> {
      const job = `${root}/job`;
      createCgroup(hierarchy, `${job}/nested`);
      const started = [
        await spawnInCgroup(hierarchy, job, `${SLEEPERS(23)}; ${FORKER} wait`),
        await spawnInCgroup(hierarchy, `${job}/nested`, `${SLEEPERS(24)}; wait`),
      ];
      leaders.push(...started);
      // 50 at the start, more once the forker is under way.
      await waitFor('the tree to start', () => treeProcesses(hierarchy, job).length >= 53);
      return { leaders: started, pids: treeProcesses(hierarchy, job) };
    }

    function prepare(hierarchy: string): string {
      const root = uniqueRoot();
      createCgroup(hierarchy, root);
      made.push({ hierarchy, cgroup: root });
      return root;
    }

    async function expectDead(tree: Tree): Promise<void> {
      for (const leader of tree.leaders) {
        if (leader.exitCode === null && leader.signalCode === null) await once(leader, 'exit');
        expect(leader.signalCode).toBe('SIGKILL');
      }
      // A killed process leaves its cgroup just before it turns zombie (then its reaper, maybe
      // pid 1, collects it): dead is gone or a zombie, which may take a moment.
      await expect
        .poll(() => tree.pids.filter(isRunning).map((pid) => `${pid}:${processState(pid)}`))
        .toEqual([]);
    }

    const cases: [string, () => string, KillMethod][] = [
      ['the v1 freezer hierarchy', () => findV1Hierarchy('freezer') ?? '', 'freezer'],
      ['cgroup v2', () => findCgroup2Mount() ?? '', 'cgroup.kill'],
      ['the v1 pids hierarchy (no freezer)', () => findV1Hierarchy('pids') ?? '', 'signal'],
    ];

    describe.each(cases)('in %s', (_, hierarchyOf, method) => {
      function setUp(): { hierarchy: string; root: string } {
        const hierarchy = hierarchyOf();
        expect(hierarchy).toMatch(/^\//);
        const root = prepare(hierarchy);
        // A second bound on the forker where the kernel offers one.
        if (method === 'signal') writeControl(hierarchy, root, 'pids.max', '400');
        return { hierarchy, root };
      }

      it(`uses ${method}, whichever cgroup was asked about first`, () => {
        const { hierarchy, root } = setUp();
        // A missing cgroup has no control files: its answer must not stand for the mount.
        killMethod(hierarchy, `${root}/missing`);
        createCgroup(hierarchy, `${root}/job`);
        expect(killMethod(hierarchy, `${root}/job`)).toBe(method);
        expect(killMethod(hierarchy, `${root}/missing`)).toBe(method);
      });

      it('killCgroupProcesses kills a forking tree of 50 and leaves the cgroups empty', async () => {
        const { hierarchy, root } = setUp();
        const tree = await startTree(hierarchy, root);
        const blockedMs = watchEventLoop();

        await killCgroupProcesses(hierarchy, `${root}/job`, { timeoutMs: 20_000 });

        expect(blockedMs()).toBeLessThan(250);
        expect(listProcesses(hierarchy, `${root}/job`)).toEqual([]);
        expect(listProcesses(hierarchy, `${root}/job/nested`)).toEqual([]);
        expect(cgroupExists(hierarchy, `${root}/job/nested`)).toBe(true);
        if (method === 'freezer') expect(readFreezerState(hierarchy, `${root}/job`)).toBe('THAWED');
        await expectDead(tree);
      });

      it('destroyCgroup kills a forking tree of 50 and removes its cgroups', async () => {
        const { hierarchy, root } = setUp();
        const tree = await startTree(hierarchy, root);
        const blockedMs = watchEventLoop();

        await destroyCgroup(hierarchy, `${root}/job`, { timeoutMs: 20_000 });

        expect(blockedMs()).toBeLessThan(250);
        expect(cgroupExists(hierarchy, `${root}/job`)).toBe(false);
        expect(listChildCgroups(hierarchy, root)).toEqual([]);
        await expectDead(tree);
      });
    });

    it('two concurrent destroys of one tree both succeed', async () => {
      const hierarchy = findV1Hierarchy('freezer') ?? '';
      const root = prepare(hierarchy);
      const tree = await startTree(hierarchy, root);
      await Promise.all([
        destroyCgroup(hierarchy, `${root}/job`, { timeoutMs: 20_000 }),
        destroyCgroup(hierarchy, `${root}/job`, { timeoutMs: 20_000 }),
      ]);
      expect(cgroupExists(hierarchy, `${root}/job`)).toBe(false);
      await expectDead(tree);
    });

    it('destroyCgroup succeeds for a cgroup that does not exist', async () => {
      const hierarchy = findCgroup2Mount() ?? '';
      const root = prepare(hierarchy);
      await expect(destroyCgroup(hierarchy, `${root}/never-created`)).resolves.toBeUndefined();
      await expect(destroyCgroup(hierarchy, `${uniqueRoot()}/x`)).resolves.toBeUndefined();
      expect(cgroupExists(hierarchy, root)).toBe(true);
    });

    it('destroyCgroup gives up after its timeout, naming what is left', async () => {
      // A process frozen by the v1 freezer does not act on SIGKILL until thawed, so the SIGKILL
      // loop in the pids hierarchy cannot empty a cgroup that holds it.
      const freezer = findV1Hierarchy('freezer') ?? '';
      const pids = findV1Hierarchy('pids') ?? '';
      const frozenRoot = prepare(freezer); // destroyed first in afterEach: that thaws and kills it
      const root = prepare(pids);
      createCgroup(pids, `${root}/job`);
      const sleeper = await spawnInCgroup(pids, `${root}/job`, 'exec sleep 1000');
      leaders.push(sleeper);
      const pid = sleeper.pid ?? 0;
      assignProcess(freezer, frozenRoot, pid);
      await freezeCgroup(freezer, frozenRoot);

      const started = Date.now();
      const error = await destroyCgroup(pids, `${root}/job`, { timeoutMs: 300 }).catch(
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(CgroupError);
      expect(error).toMatchObject({
        code: 'CORRAL_CGROUP_ERROR',
        operation: 'kill',
        path: `${pids}/${root}/job`,
        errno: 'ETIMEDOUT',
      });
      expect((error as Error).message).toBe(
        `cgroup kill failed on '${pids}/${root}/job' (ETIMEDOUT): timed out after 300 ms; ` +
          `1 process(es) left: ${pid}`,
      );
      expect(listProcesses(pids, `${root}/job`)).toEqual([pid]);
      expect(cgroupExists(pids, `${root}/job`)).toBe(true);
    });
  },
);
