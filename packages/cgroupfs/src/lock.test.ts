import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeTree, type FakeTree } from '../test/fake-tree.ts';
import { CgroupMountError } from './errors.ts';
import { withFileLock } from './lock.ts';

/** Whether another process could take the lock right now (flock --nonblock exits 1 if not). */
function lockIsFree(file: string): boolean {
  return spawnSync('flock', ['--nonblock', file, 'true']).status === 0;
}

describe('withFileLock', () => {
  let tree: FakeTree;
  afterEach(() => tree.remove());

  it('holds an flock other processes see until fn settles, then releases it', async () => {
    tree = createFakeTree();
    const file = join(tree.root, 'lock');
    const seenInside = await withFileLock(file, 5_000, async () => lockIsFree(file));
    expect(seenInside).toBe(false);
    expect(lockIsFree(file)).toBe(true);
  });

  it('serialises concurrent callers in one process', async () => {
    tree = createFakeTree();
    const file = join(tree.root, 'lock');
    const events: string[] = [];
    const critical = (name: string) =>
      withFileLock(file, 5_000, async () => {
        events.push(`${name} in`);
        await delay(30);
        events.push(`${name} out`);
      });
    await Promise.all([critical('a'), critical('b')]);
    expect([events[0]?.slice(2), events[1]?.slice(2), events[2]?.slice(2)]).toEqual([
      'in',
      'out',
      'in',
    ]);
  });

  it('releases the lock when fn throws', async () => {
    tree = createFakeTree();
    const file = join(tree.root, 'lock');
    await expect(
      withFileLock(file, 5_000, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(lockIsFree(file)).toBe(true);
  });

  it('gives up with lock_timeout while another holder keeps the lock', async () => {
    tree = createFakeTree();
    const file = join(tree.root, 'lock');
    await withFileLock(file, 5_000, async () => {
      await expect(withFileLock(file, 100, async () => 'never')).rejects.toThrow(CgroupMountError);
      await expect(withFileLock(file, 100, async () => 'never')).rejects.toMatchObject({
        reason: 'lock_timeout',
      });
    });
  });
});
