import { type ChildProcess, spawn } from 'node:child_process';
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
afterEach(() => {
  if (child?.pid) process.kill(-child.pid, 'SIGKILL');
  child = undefined;
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
