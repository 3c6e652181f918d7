import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCgroup2Mount } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import manifest, { posixCpu, posixMem } from '../src/index.ts';

const context = {
  name: 'posix/cpu',
  logger: { debug() {}, info() {}, warn() {}, error() {} },
  runtimeDir: '/tmp',
  cgroups: { hierarchy: '/sys/fs/cgroup', root: 'corral' },
  agent: { workDir: '/tmp', runtimeDir: '/tmp' },
};

let child: ChildProcess | undefined;
/** Cgroups a test made, innermost first. */
let cgroups: string[] = [];
afterEach(async () => {
  if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  child = undefined;
  for (const cgroup of cgroups) {
    writeFileSync(join(cgroup, 'cgroup.kill'), '1');
    await expect
      .poll(() => {
        try {
          rmdirSync(cgroup);
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EBUSY') return false;
          throw error;
        }
      })
      .toBe(true);
  }
  cgroups = [];
});

describeOnKernel('posix usage of a real process tree', {}, () => {
  it('sums CPU time, RSS, processes and threads over the tree', async () => {
    // A shell that burns CPU for ~300 ms in a child, then keeps two sleepers around.
    child = spawn(
      'sh',
      ['-c', 'i=0; while [ $i -lt 60000 ]; do i=$((i+1)); done; sleep 30 & sleep 30 & wait'],
      { detached: true, stdio: 'ignore' },
    );
    const pid = child.pid ?? 0;
    const cpu = await posixCpu.create({}, context);
    const mem = await posixMem.create({}, context);
    const id = { value: 'usage-test' };
    await cpu.isolate?.(id, pid);
    await mem.isolate?.(id, pid);

    await expect.poll(async () => (await cpu.usage?.(id))?.processes, { timeout: 10_000 }).toBe(3);
    const cpuUsage = await cpu.usage?.(id);
    expect(
      (cpuUsage?.cpus_user_time_secs ?? 0) + (cpuUsage?.cpus_system_time_secs ?? 0),
    ).toBeGreaterThan(0);
    expect(cpuUsage?.threads).toBe(3);
    const memUsage = await mem.usage?.(id);
    expect(memUsage?.mem_rss_bytes).toBeGreaterThan(100 * 1024);

    await cpu.cleanup?.(id);
    expect(() => cpu.usage?.(id)).toThrow(/Unknown container 'usage-test'/);
    // cleanup of an unknown container succeeds
    await cpu.cleanup?.({ value: 'never-seen' });
  });

  it('exports both isolators in a valid manifest', () => {
    expect(manifest.isolators.map((isolator) => isolator.name)).toEqual(['posix/cpu', 'posix/mem']);
  });
});

describeOnKernel(
  'posix usage of a container with its own cgroup v2',
  { root: true, cgroup2: true },
  () => {
    it("reads a container's own cgroup v2: CPU from cpu.stat, and processes outside the tree", async () => {
      const mount = findCgroup2Mount() ?? '';
      const parent = join(mount, `corral-posix-test-${process.pid}`);
      const id = { value: 'usage-cgroup' };
      const cgroup = join(parent, id.value);
      mkdirSync(parent);
      cgroups = [parent];
      mkdirSync(cgroup);
      cgroups = [cgroup, parent];
      // Joins the cgroup, burns CPU in a child that exits, and leaves two sleepers that a double fork
      // reparented away from the tree (its init is no subreaper): only the cgroup still sees them.
      child = spawn(
        'sh',
        [
          '-c',
          `echo $$ > ${cgroup}/cgroup.procs; sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'; (sleep 30 &); (sleep 30 &); exec sleep 30`,
        ],
        { detached: true, stdio: 'ignore' },
      );
      // The linux launcher forks the init into its cgroup; here the shell moves itself first.
      const cgroupFile = `/proc/${child.pid}/cgroup`;
      await expect.poll(() => readFileSync(cgroupFile, 'utf8')).toContain(`/${id.value}\n`);
      const cpu = await posixCpu.create({}, context);
      await cpu.isolate?.(id, child.pid ?? 0);
      await expect
        .poll(async () => (await cpu.usage?.(id))?.processes, { timeout: 10_000 })
        .toBe(3);
      const usage = await cpu.usage?.(id);
      // The busy child has exited: /proc no longer has its time, cpu.stat does.
      expect(
        (usage?.cpus_user_time_secs ?? 0) + (usage?.cpus_system_time_secs ?? 0),
      ).toBeGreaterThan(0.02);
      await cpu.cleanup?.(id);
    });
  },
);
