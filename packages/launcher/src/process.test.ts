import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkProcessExit,
  isSameProcess,
  KILLED_STATUS,
  readExitStatus,
  readProcessStartTime,
  watchProcessExit,
} from './process.ts';

describe('process identity', () => {
  it('knows this process and tells a different start time apart', () => {
    const startTime = readProcessStartTime(process.pid);
    expect(startTime).toBeGreaterThan(0);
    expect(isSameProcess(process.pid, startTime ?? 0)).toBe(true);
    expect(isSameProcess(process.pid, (startTime ?? 0) + 1)).toBe(false);
  });

  it('reports no process for a pid that does not exist', () => {
    expect(readProcessStartTime(2 ** 22 + 1)).toBeUndefined();
    expect(isSameProcess(2 ** 22 + 1, 1)).toBe(false);
  });
});

describe('status files', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the decimal status, and SIGKILL for a missing or empty file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-status-'));
    writeFileSync(join(dir, 'status'), '768\n');
    writeFileSync(join(dir, 'empty'), '');
    writeFileSync(join(dir, 'junk'), 'zz');
    expect(await readExitStatus(join(dir, 'status'))).toBe(768);
    expect(await readExitStatus(join(dir, 'empty'))).toBe(KILLED_STATUS);
    expect(await readExitStatus(join(dir, 'missing'))).toBe(KILLED_STATUS);
    await expect(readExitStatus(join(dir, 'junk'))).rejects.toThrow(/not a wait status/);
  });

  it('watchProcessExit notices the exit of a process that wrote its status', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-status-'));
    const statusFile = join(dir, 'status');
    const child = spawn('sh', [
      '-c',
      `sleep 0.2; echo 256 > ${statusFile}.tmp; mv ${statusFile}.tmp ${statusFile}`,
    ]);
    const pid = child.pid ?? 0;
    const startTime = readProcessStartTime(pid) ?? 0;
    const started = performance.now();
    expect(await watchProcessExit(pid, startTime, statusFile)).toBe(256);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('watchProcessExit resolves SIGKILL for a killed process without a status file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-status-'));
    const child = spawn('sleep', ['10']);
    const pid = child.pid ?? 0;
    const startTime = readProcessStartTime(pid) ?? 0;
    const exit = watchProcessExit(pid, startTime, join(dir, 'status'));
    child.kill('SIGKILL');
    expect(await exit).toBe(KILLED_STATUS);
  });

  it('keeps each exit poll short however many processes are watched, and still sees every exit', async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-status-'));
    const child = spawn('sleep', ['30']);
    const pid = child.pid ?? 0;
    const startTime = readProcessStartTime(pid) ?? 0;
    // One pass over 20,000 watches reads /proc 20,000 times (~300 ms here): a poll that did a
    // whole pass per tick would stall the loop far beyond the bound below, which leaves room for
    // the scheduling noise of a loaded 2-core CI machine (up to ~60 ms seen).
    const exits = Array.from({ length: 20_000 }, () =>
      watchProcessExit(pid, startTime, join(dir, 'status')),
    );
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    delay.disable();
    child.kill('SIGKILL');
    await once(child, 'exit');
    // As a destroy does: look at once rather than wait for the polls to reach every watch.
    checkProcessExit(pid);
    expect(await Promise.all(exits)).toEqual(exits.map(() => KILLED_STATUS));
    expect(delay.max / 1e6).toBeLessThan(150);
  });
});
