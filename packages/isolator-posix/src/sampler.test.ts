import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcessTable } from '@corral/procfs';
import { afterEach, expect, it } from 'vitest';
import { UsageSampler } from './sampler.ts';
import { createUsageIsolator } from './usage-isolator.ts';

/** Beyond PID_MAX_LIMIT (2^22): no real process has these pids, so none has a cgroup. */
const FIRST_PID = 5_000_000;

let proc: string | undefined;
afterEach(() => {
  if (proc) rmSync(proc, { recursive: true, force: true });
  proc = undefined;
});

/** A fake /proc of `containers` inits, each with one child, plus unrelated processes. */
function fakeProc(containers: number, unrelated: number): string {
  const root = mkdtempSync(join(tmpdir(), 'corral-posix-proc-'));
  proc = root;
  const write = (pid: number, ppid: number, utime: number, rss: number) => {
    mkdirSync(join(root, String(pid)));
    // Fields 3..24: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    // utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
    writeFileSync(
      join(root, String(pid), 'stat'),
      `${pid} (sleep) S ${ppid} 1 1 0 -1 0 0 0 0 0 ${utime} 7 0 0 20 0 1 0 100 1000 ${rss} 0`,
    );
  };
  for (let index = 0; index < containers; index++) {
    const init = FIRST_PID + 2 * index;
    write(init, 1, 1, 10);
    write(init + 1, init, index, 20);
  }
  for (let index = 0; index < unrelated; index++) write(FIRST_PID - 1 - index, 1, 99, 99);
  return root;
}

it('reads the process table once for the usage of every container asked in one turn', async () => {
  const containers = 300;
  const procRoot = fakeProc(containers, 500);
  let scans = 0;
  // Samples stay fresh long enough for both rounds below even on a loaded machine.
  const sampler = new UsageSampler({
    procRoot,
    freshMs: 300,
    readTable: async (root) => {
      scans++;
      return readProcessTable(root);
    },
  });
  const cpu = createUsageIsolator((sample) => ({ cpus_user_time_secs: sample.userSecs }), sampler);
  const mem = createUsageIsolator((sample) => ({ mem_rss_bytes: sample.rssBytes }), sampler);
  const ids = Array.from({ length: containers }, (_, index) => ({ value: `c${index}` }));
  ids.forEach((id, index) => {
    cpu.isolate?.(id, FIRST_PID + 2 * index);
    mem.isolate?.(id, FIRST_PID + 2 * index);
  });

  const usages = await Promise.all(ids.flatMap((id) => [cpu.usage?.(id), mem.usage?.(id)]));
  expect(scans).toBe(1);
  // Ticks of the init (1) and its child (7), resident pages (10 + 20).
  expect(usages[2 * 7]).toEqual({ processes: 2, threads: 2, cpus_user_time_secs: 0.08 });
  expect(usages[2 * 7 + 1]).toEqual({ processes: 2, threads: 2, mem_rss_bytes: 30 * 4096 });

  // A request right after is served from those samples; once they are stale, from one new scan.
  await Promise.all(ids.map((id) => cpu.usage?.(id)));
  expect(scans).toBe(1);
  await new Promise((resolve) => setTimeout(resolve, 350));
  await Promise.all(ids.map((id) => cpu.usage?.(id)));
  expect(scans).toBe(2);
});

it('gives a call made during a scan a scan of its own, started after it', async () => {
  const procRoot = fakeProc(1, 0);
  let scans = 0;
  const release = Promise.withResolvers<void>();
  const sampler = new UsageSampler({
    procRoot,
    readTable: async (root) => {
      scans++;
      await release.promise;
      return readProcessTable(root);
    },
  });
  const first = sampler.sample('c0', FIRST_PID);
  await expect.poll(() => scans).toBe(1);
  const second = sampler.sample('c0', FIRST_PID);
  release.resolve();
  expect((await first).processes).toBe(2);
  expect((await second).processes).toBe(2);
  expect(scans).toBe(2);
});

it('keeps one batch while a caller asks in slices, one turn after another', async () => {
  const procRoot = fakeProc(3, 0);
  let scans = 0;
  const sampler = new UsageSampler({
    procRoot,
    readTable: async (root) => {
      scans++;
      return readProcessTable(root);
    },
  });
  const samples: Promise<unknown>[] = [];
  for (let index = 0; index < 3; index++) {
    samples.push(sampler.sample(`c${index}`, FIRST_PID + 2 * index));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(samples);
  expect(scans).toBe(1);
});

it('fails the calls of a batch whose scan fails, and serves the next batch', async () => {
  const procRoot = fakeProc(1, 0);
  let scans = 0;
  const sampler = new UsageSampler({
    procRoot,
    readTable: async (root) => {
      scans++;
      if (scans === 1) throw new Error('EIO reading /proc');
      return readProcessTable(root);
    },
  });
  await expect(sampler.sample('c0', FIRST_PID)).rejects.toThrow('EIO reading /proc');
  expect((await sampler.sample('c0', FIRST_PID)).processes).toBe(2);
});
