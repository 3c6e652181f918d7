import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CgroupControllerUnavailableError,
  locateController,
  pidsController,
  v2Cpu,
  v2Memory,
} from '@corral/cgroupfs';
import type { ContainerConfig } from '@corral/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupIsolator } from './cgroup-isolator.ts';
import { cpuPolicy } from './cpu.ts';
import { memPolicy } from './mem.ts';
import { MemIsolator } from './mem-isolator.ts';
import { pidsPolicy } from './pids.ts';

// The cgroup v2 paths, against a fake unified tree: this machine's cgroup2 hierarchy has no
// controllers (they are bound to v1), so the kernel cannot exercise them here.
const ROOT = 'corral';
const MB = 1024 * 1024;
let unified: string;

function file(path: string, content: string): void {
  writeFileSync(join(unified, path), content);
}
function read(path: string): string {
  return readFileSync(join(unified, path), 'utf8');
}
function launch(
  resources: Record<string, number>,
  limits: Record<string, number>,
): ContainerConfig {
  return {
    command_info: { value: 'true' },
    directory: '/tmp',
    runtime_directory: '/tmp',
    resources: Object.entries(resources).map(([name, value]) => ({
      name,
      type: 'SCALAR',
      scalar: { value },
    })),
    limits: Object.fromEntries(Object.entries(limits).map(([name, value]) => [name, { value }])),
  };
}

beforeEach(() => {
  unified = mkdtempSync(join(tmpdir(), 'corral-fake-unified-'));
  file('cgroup.controllers', 'cpu memory pids\n');
  mkdirSync(join(unified, ROOT));
  file(`${ROOT}/memory.events`, 'oom 0\noom_kill 0\n');
});
afterEach(() => rmSync(unified, { recursive: true, force: true }));

describe('cgroup v2 (fake tree)', () => {
  it('locates controllers in the v2 hierarchy, and says what is missing when one is not there', async () => {
    expect(await locateController('memory', { base: '/nonexistent', unified, v1: false })).toEqual({
      version: 2,
      hierarchy: unified,
    });
    file('cgroup.controllers', 'cpu pids\n');
    const error = await locateController('memory', {
      base: '/nonexistent',
      unified,
      v1: false,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CgroupControllerUnavailableError);
    expect((error as Error).message).toContain(
      `'${join(unified, 'cgroup.controllers')}' lists cpu pids`,
    );
  });

  it('cgroups/cpu writes cpu.weight and cpu.max and reads cpu.stat', () => {
    const isolator = new CgroupIsolator({
      name: 'cgroups/cpu',
      root: ROOT,
      policy: cpuPolicy(v2Cpu(unified), { defaultCpus: 0.1, enableCfs: false }),
    });
    isolator.prepare({ value: 'a' }, launch({ cpus: 1 }, { cpus: 1.5 }));
    expect(read(`${ROOT}/a/cpu.weight`)).toBe('39');
    expect(read(`${ROOT}/a/cpu.max`)).toBe('150000 100000');
    file(
      `${ROOT}/a/cpu.stat`,
      'usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 40\nnr_throttled 10\nthrottled_usec 250000\n',
    );
    expect(isolator.usage({ value: 'a' })).toEqual({
      cpus_user_time_secs: 2,
      cpus_system_time_secs: 1,
      cpus_nr_periods: 40,
      cpus_nr_throttled: 10,
      cpus_throttled_time_secs: 0.25,
      cpus_limit: 1.5,
      cpus_soft_limit: 1,
    });
  });

  it('cgroups/pids writes pids.max and reads pids.current', () => {
    const isolator = new CgroupIsolator({
      name: 'cgroups/pids',
      root: ROOT,
      policy: pidsPolicy(pidsController(unified, 2), 20),
    });
    isolator.prepare({ value: 'a' }, launch({}, {}));
    expect(read(`${ROOT}/a/pids.max`)).toBe('20');
    file(`${ROOT}/a/pids.current`, '7\n');
    expect(isolator.usage({ value: 'a' })).toEqual({ threads: 7 });
  });

  it('cgroups/mem writes memory.max and memory.low, and a memory.events OOM kill resolves the watch', async () => {
    const controller = v2Memory(unified);
    const isolator = new MemIsolator({
      name: 'cgroups/mem',
      root: ROOT,
      controller,
      policy: memPolicy(controller, 32),
      trigger: { kind: 'events', file: join(unified, ROOT, 'memory.events') },
    });
    isolator.prepare({ value: 'a' }, launch({ mem: 32 }, { mem: 64 }));
    expect(read(`${ROOT}/a/memory.max`)).toBe(String(64 * MB));
    expect(read(`${ROOT}/a/memory.low`)).toBe(String(32 * MB));
    file(`${ROOT}/a/memory.current`, `${40 * MB}\n`);
    file(`${ROOT}/a/memory.peak`, `${64 * MB}\n`);
    file(
      `${ROOT}/a/memory.stat`,
      `anon ${30 * MB}\nfile ${10 * MB}\nfile_mapped ${MB}\nunevictable 0\n`,
    );
    file(`${ROOT}/a/memory.events`, 'oom 0\noom_kill 0\n');
    expect(isolator.usage({ value: 'a' })).toMatchObject({
      mem_total_bytes: 40 * MB,
      mem_rss_bytes: 30 * MB,
      mem_cache_bytes: 10 * MB,
      mem_limit_bytes: 64 * MB,
      mem_soft_limit_bytes: 32 * MB,
    });

    const limitation = isolator.watch({ value: 'a' }, new AbortController().signal);
    file(`${ROOT}/a/memory.events`, 'oom 1\noom_kill 1\n');
    // The kernel counts the kill in every ancestor and notifies watchers of their files.
    file(`${ROOT}/memory.events`, 'oom 1\noom_kill 1\n');
    expect(await limitation).toEqual({
      message:
        "Memory limit exceeded: the kernel's OOM killer killed 1 process(es) in the container; limit 64 MB, peak usage 64 MB",
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: 64 } }],
    });
  });
});
