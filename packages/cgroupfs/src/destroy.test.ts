import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeTree, type FakeTree } from '../test/fake-tree.ts';
import { destroyCgroup, killCgroupProcesses, killMethod } from './destroy.ts';
import { CgroupError } from './errors.ts';

describe('destroyCgroup and killCgroupProcesses on a fake tree', () => {
  let tree: FakeTree;
  beforeEach(() => {
    tree = createFakeTree();
  });
  afterEach(() => tree.remove());

  it.each(['', '/', '//'])('refuse the root cgroup %j', async (cgroup) => {
    await expect(destroyCgroup(tree.root, cgroup)).rejects.toThrow(
      /refusing to destroy a hierarchy's root cgroup/,
    );
    await expect(killCgroupProcesses(tree.root, cgroup)).rejects.toThrow(
      /refusing to kill a hierarchy's root cgroup/,
    );
  });

  it('refuse a path with .. components', async () => {
    await expect(destroyCgroup(tree.root, 'corral/../..')).rejects.toThrow(CgroupError);
  });

  it('succeed when the cgroup does not exist', async () => {
    await expect(destroyCgroup(tree.root, 'corral/missing')).resolves.toBeUndefined();
    await expect(killCgroupProcesses(tree.root, 'corral/missing')).resolves.toBeUndefined();
  });

  it('refuse to kill a tree that holds the calling process', async () => {
    tree.cgroup('corral/me', { 'cgroup.procs': `${process.pid}\n` });
    await expect(killCgroupProcesses(tree.root, 'corral/me', { timeoutMs: 50 })).rejects.toThrow(
      `this process (pid ${process.pid}) is in the cgroup; refusing to kill itself`,
    );
  });

  it('choose the kill method from the control files', () => {
    tree.cgroup('v2', { 'cgroup.kill': '', 'cgroup.procs': '' });
    tree.cgroup('v1', { 'freezer.state': 'THAWED\n', 'cgroup.procs': '' });
    tree.cgroup('plain', { 'cgroup.procs': '' });
    expect(killMethod(tree.root, 'v2')).toBe('cgroup.kill');
    expect(killMethod(tree.root, 'v1')).toBe('freezer');
    expect(killMethod(tree.root, 'plain')).toBe('signal');
  });

  it('report an rmdir the kernel would not refuse for EBUSY as a CgroupError', async () => {
    // A fake cgroup's control files are real files, so rmdir says ENOTEMPTY: not retried.
    tree.cgroup('corral/c', { 'cgroup.procs': '' });
    tree.cgroup('corral/c/child', { 'cgroup.procs': '' });
    await expect(destroyCgroup(tree.root, 'corral/c', { timeoutMs: 1_000 })).rejects.toMatchObject({
      operation: 'rmdir',
      errno: 'ENOTEMPTY',
    });
  });
});
