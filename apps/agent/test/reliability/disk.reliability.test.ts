import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { recoveredState, runningTasks } from '../agent-process.ts';
import { launchCall, Scenario, stopContainer } from './harness.ts';

let scenario: Scenario | undefined;
let mountPoint: string | undefined;
afterEach(async () => {
  if (mountPoint) execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
  await scenario?.cleanup();
  if (mountPoint) {
    execFileSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  }
  scenario = undefined;
  mountPoint = undefined;
});

describeOnKernel(
  'disk trouble',
  { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'], commands: ['mount'] },
  () => {
    it('a full or read-only runtime dir fails the launch clearly, leaves nothing, spares running containers', async () => {
      mountPoint = mkdtempSync(join(tmpdir(), 'corral-small-runtime-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'corral-test', mountPoint]);
      scenario = new Scenario([], { runtimeDir: join(mountPoint, 'run') });
      const agent = await scenario.start();
      expect((await agent.call(launchCall('survivor'))).status).toBe(200);

      // Fill the filesystem to the last byte.
      try {
        writeFileSync(join(mountPoint, 'filler'), Buffer.alloc(2 * 1024 * 1024));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      const full = await agent.call(launchCall('no-space'));
      expect(full.status).toBe(400);
      expect(await full.text()).toMatch(/ENOSPC|no space/i);
      expect(runningTasks(await recoveredState(agent)).map((task) => task.id)).toEqual([
        'survivor',
      ]);
      rmSync(join(mountPoint, 'filler'));
      expect(await scenario.invariants(agent)).toEqual([]);

      execFileSync('mount', ['-o', 'remount,ro', mountPoint]);
      const readOnly = await agent.call(launchCall('read-only'));
      expect(readOnly.status).toBe(400);
      expect(await readOnly.text()).toMatch(/EROFS|read-only/i);
      execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
      expect(runningTasks(await recoveredState(agent)).map((task) => task.id)).toEqual([
        'survivor',
      ]);
      expect(await scenario.invariants(agent)).toEqual([]);

      await stopContainer(agent, 'survivor');
      expect(await scenario.invariants(agent)).toEqual([]);
    });
  },
);
