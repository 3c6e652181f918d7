import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogUnavailableError, readLogChunk } from './logs.ts';

let sandbox: string;
beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'corral-logs-'));
});
afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

describe('readLogChunk', () => {
  it('reads from an offset, at most max bytes, with the file size', async () => {
    writeFileSync(join(sandbox, 'stdout'), 'hello\nworld\n');
    const all = await readLogChunk(sandbox, 'stdout', 0);
    expect([all.data.toString(), all.size]).toEqual(['hello\nworld\n', 12]);
    const capped = await readLogChunk(sandbox, 'stdout', 6, 3);
    expect([capped.data.toString(), capped.size]).toEqual(['wor', 12]);
    const past = await readLogChunk(sandbox, 'stdout', 100);
    expect([past.data.length, past.size]).toEqual([0, 12]);
  });

  it('reads a file the command has not written yet as empty', async () => {
    const chunk = await readLogChunk(sandbox, 'stderr', 0);
    expect([chunk.data.length, chunk.size]).toEqual([0, 0]);
  });

  it('refuses a symlink or a directory in place of the log', async () => {
    writeFileSync(join(sandbox, 'secret'), 'not for log readers');
    symlinkSync(join(sandbox, 'secret'), join(sandbox, 'stdout'));
    await expect(readLogChunk(sandbox, 'stdout', 0)).rejects.toThrow(LogUnavailableError);
    mkdirSync(join(sandbox, 'stderr'));
    await expect(readLogChunk(sandbox, 'stderr', 0)).rejects.toThrow(LogUnavailableError);
  });
});
