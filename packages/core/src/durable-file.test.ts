import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileDurably } from './durable-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-durable-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileDurably', () => {
  it('replaces the file whole, readable only by its owner, leaving no temp file', async () => {
    const file = join(dir, 'state.json');
    await writeFileDurably(file, '{"a":1}');
    await writeFileDurably(file, '{"a":2}', { fsync: false });
    expect(readFileSync(file, 'utf8')).toBe('{"a":2}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.tmp`)).toBe(false);
  });
});
