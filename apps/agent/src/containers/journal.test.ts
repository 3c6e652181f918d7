import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { Journal } from './journal.ts';

const file = () => join(mkdtempSync(join(tmpdir(), 'corral-journal-')), 'containers.jsonl');

describe('Journal', () => {
  it('replays saves and removals in order, the last save of a key winning', async () => {
    const path = file();
    const journal = new Journal<{ key: string; n: number }>(path, silentLogger);
    journal.save({ key: 'a', n: 1 });
    journal.save({ key: 'b', n: 1 });
    journal.save({ key: 'a', n: 2 });
    journal.remove('b');
    await journal.flush();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(4);
    expect(new Journal(path, silentLogger).load()).toEqual([{ key: 'a', n: 2 }]);
  });

  it('ignores a torn last line left by a crash mid-append', async () => {
    const path = file();
    const journal = new Journal<{ key: string }>(path, silentLogger);
    journal.save({ key: 'kept' });
    await journal.flush();
    appendFileSync(path, '{"save":{"key":"tor');
    expect(new Journal(path, silentLogger).load()).toEqual([{ key: 'kept' }]);
  });

  it('compacts to the live records once stale lines dominate', async () => {
    const path = file();
    const journal = new Journal<{ key: string }>(path, silentLogger);
    for (let i = 0; i < 1200; i++) {
      journal.save({ key: `c${i}` });
      if (i >= 2) journal.remove(`c${i}`);
    }
    await journal.flush();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(1000);
    expect(new Journal(path, silentLogger).load().map((record) => record.key)).toEqual([
      'c0',
      'c1',
    ]);
  });
});
