import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeTree, type FakeTree } from '../test/fake-tree.ts';
import {
  assignProcess,
  cgroupExists,
  cgroupPath,
  createCgroup,
  listChildCgroups,
  listProcesses,
  normalizeCgroup,
  parseProcessCgroups,
  processCgroups,
  readControl,
  removeCgroup,
  writeControl,
} from './cgroup.ts';
import { CgroupError } from './errors.ts';

describe('cgroupPath', () => {
  it.each([
    ['', '/sys/fs/cgroup/freezer'],
    ['/', '/sys/fs/cgroup/freezer'],
    ['corral/abc', '/sys/fs/cgroup/freezer/corral/abc'],
    ['/corral/abc', '/sys/fs/cgroup/freezer/corral/abc'],
    ['//corral//abc/', '/sys/fs/cgroup/freezer/corral/abc'],
    ['corral/a..b', '/sys/fs/cgroup/freezer/corral/a..b'],
  ])('resolves %j inside the hierarchy', (cgroup, path) => {
    expect(cgroupPath('/sys/fs/cgroup/freezer', cgroup)).toBe(path);
  });

  it.each(['..', '../x', 'corral/../../etc', '/..', 'a/./b', '.', 'a/..', 'a\0b'])(
    'refuses %j, which could leave the hierarchy',
    (cgroup) => {
      expect(() => cgroupPath('/sys/fs/cgroup/freezer', cgroup)).toThrow(CgroupError);
      expect(() => cgroupPath('/sys/fs/cgroup/freezer', cgroup)).toThrow(
        /invalid cgroup path: '\.' and '\.\.' components/,
      );
    },
  );

  it('refuses a relative hierarchy', () => {
    expect(() => cgroupPath('sys/fs/cgroup', 'a')).toThrow(/absolute path of a cgroup mount/);
  });

  it('normalizes to the form listChildCgroups returns', () => {
    expect(normalizeCgroup('/corral//abc/')).toBe('corral/abc');
    expect(normalizeCgroup('/')).toBe('');
  });
});

describe('cgroup operations on a fake tree', () => {
  let tree: FakeTree;
  beforeEach(() => {
    tree = createFakeTree();
  });
  afterEach(() => tree.remove());

  it('createCgroup creates missing ancestors and accepts an existing cgroup, saying which', () => {
    expect(createCgroup(tree.root, 'corral/abc/nested')).toBe(true);
    expect(existsSync(join(tree.root, 'corral/abc/nested'))).toBe(true);
    expect(createCgroup(tree.root, 'corral/abc')).toBe(false);
    expect(createCgroup(tree.root, 'corral/abc/nested')).toBe(false);
    expect(cgroupExists(tree.root, 'corral/abc')).toBe(true);
    expect(cgroupExists(tree.root, 'corral/other')).toBe(false);
  });

  it('createCgroup refuses .. before touching the filesystem', () => {
    expect(() => createCgroup(tree.root, 'corral/../../escape')).toThrow(CgroupError);
    expect(existsSync(join(tree.root, 'corral'))).toBe(false);
  });

  it('createCgroup reports a failed mkdir with operation, path and errno', () => {
    tree.file('corral', 'a file where a cgroup should be');
    expect(() => createCgroup(tree.root, 'corral/abc')).toThrow(
      expect.objectContaining({
        operation: 'mkdir',
        path: join(tree.root, 'corral/abc'),
        errno: 'ENOTDIR',
      }),
    );
  });

  it('cgroupExists is false for a control file', () => {
    tree.cgroup('a', { 'cgroup.procs': '' });
    expect(cgroupExists(tree.root, 'a/cgroup.procs')).toBe(false);
  });

  it('removeCgroup removes one level and succeeds when the cgroup is missing', () => {
    tree.cgroup('corral/abc');
    removeCgroup(tree.root, 'corral/abc');
    expect(existsSync(join(tree.root, 'corral/abc'))).toBe(false);
    expect(existsSync(join(tree.root, 'corral'))).toBe(true);
    expect(() => removeCgroup(tree.root, 'corral/abc')).not.toThrow();
    expect(() => removeCgroup(tree.root, 'never/was')).not.toThrow();
  });

  it('removeCgroup reports a refused rmdir as a CgroupError naming rmdir, path and errno', () => {
    tree.cgroup('corral/abc/child');
    let caught: unknown;
    try {
      removeCgroup(tree.root, 'corral/abc');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CgroupError);
    expect(caught).toMatchObject({
      code: 'CORRAL_CGROUP_ERROR',
      operation: 'rmdir',
      path: join(tree.root, 'corral/abc'),
      errno: 'ENOTEMPTY',
    });
    expect((caught as Error).message).toBe(
      `cgroup rmdir failed on '${join(tree.root, 'corral/abc')}' (ENOTEMPTY)`,
    );
  });

  describe('listChildCgroups', () => {
    beforeEach(() => {
      tree.cgroup('', { 'cgroup.procs': '' });
      tree.cgroup('corral/b/y');
      tree.cgroup('corral/b/x/deep');
      tree.cgroup('corral/a');
      tree.cgroup('other', { 'cgroup.procs': '', 'freezer.state': 'THAWED\n' });
    });

    it('lists direct children as hierarchy-relative paths, skipping control files', () => {
      expect(listChildCgroups(tree.root, '')).toEqual(['corral', 'other']);
      expect(listChildCgroups(tree.root, '/corral/')).toEqual(['corral/a', 'corral/b']);
      expect(listChildCgroups(tree.root, 'corral/a')).toEqual([]);
    });

    it('lists descendants depth-first, parents first', () => {
      expect(listChildCgroups(tree.root, 'corral', { recursive: true })).toEqual([
        'corral/a',
        'corral/b',
        'corral/b/x',
        'corral/b/x/deep',
        'corral/b/y',
      ]);
    });

    it('lists descendants children first with bottomUp, the order for removal', () => {
      const bottomUp = listChildCgroups(tree.root, 'corral', { recursive: true, bottomUp: true });
      expect(bottomUp).toEqual([
        'corral/a',
        'corral/b/x/deep',
        'corral/b/x',
        'corral/b/y',
        'corral/b',
      ]);
      for (const cgroup of bottomUp) removeCgroup(tree.root, cgroup);
      expect(listChildCgroups(tree.root, 'corral')).toEqual([]);
    });

    it('fails for a missing cgroup', () => {
      expect(() => listChildCgroups(tree.root, 'missing')).toThrow(
        expect.objectContaining({ operation: 'readdir', errno: 'ENOENT' }),
      );
    });
  });

  it('readControl and writeControl use the named file of the cgroup', () => {
    tree.cgroup('c', { 'net_cls.classid': '0\n' });
    expect(readControl(tree.root, 'c', 'net_cls.classid')).toBe('0\n');
    writeControl(tree.root, 'c', 'net_cls.classid', '0x100001');
    expect(readFileSync(join(tree.root, 'c/net_cls.classid'), 'utf8')).toBe('0x100001');
  });

  it.each(['../escape', 'a/b', '', '..'])('refuses the control file name %j', (file) => {
    tree.cgroup('c');
    expect(() => readControl(tree.root, 'c', file)).toThrow(/a plain file name/);
    expect(() => writeControl(tree.root, 'c', file, '1')).toThrow(/a plain file name/);
  });

  it('reports a failed read and write with errno', () => {
    expect(() => readControl(tree.root, 'gone', 'cgroup.procs')).toThrow(
      expect.objectContaining({ operation: 'read', errno: 'ENOENT' }),
    );
    expect(() => writeControl(tree.root, 'gone', 'cgroup.procs', '1')).toThrow(
      /cgroup write failed on '.*\/gone\/cgroup.procs' \(ENOENT\): writing "1"/,
    );
  });

  it('assignProcess writes the pid to cgroup.procs; listProcesses reads it back', () => {
    tree.cgroup('c', { 'cgroup.procs': '' });
    assignProcess(tree.root, 'c', 4242);
    expect(readFileSync(join(tree.root, 'c/cgroup.procs'), 'utf8')).toBe('4242');
    tree.cgroup('d', { 'cgroup.procs': '1\n17\n4242\n' });
    expect(listProcesses(tree.root, 'd')).toEqual([1, 17, 4242]);
    tree.cgroup('e', { 'cgroup.procs': '' });
    expect(listProcesses(tree.root, 'e')).toEqual([]);
  });

  it.each([0, -1, 1.5, Number.NaN])('assignProcess refuses the pid %s', (pid) => {
    tree.cgroup('c', { 'cgroup.procs': '' });
    expect(() => assignProcess(tree.root, 'c', pid)).toThrow(/is not a process id/);
    expect(readFileSync(join(tree.root, 'c/cgroup.procs'), 'utf8')).toBe('');
  });
});

describe('parseProcessCgroups', () => {
  it('parses v1 lines, named hierarchies and the v2 line', () => {
    const text = [
      '12:net_cls,net_prio:/corral/abc',
      '9:name=systemd:/',
      '1:cpu:/',
      '0::/corral/abc',
      '',
    ].join('\n');
    expect(parseProcessCgroups(text)).toEqual([
      { hierarchyId: 12, controllers: ['net_cls', 'net_prio'], path: '/corral/abc' },
      { hierarchyId: 9, controllers: ['name=systemd'], path: '/' },
      { hierarchyId: 1, controllers: ['cpu'], path: '/' },
      { hierarchyId: 0, controllers: [], path: '/corral/abc' },
    ]);
  });

  it('keeps a colon that is part of the path', () => {
    expect(parseProcessCgroups('0::/a:b\n')).toEqual([
      { hierarchyId: 0, controllers: [], path: '/a:b' },
    ]);
  });

  it('refuses a malformed line', () => {
    expect(() => parseProcessCgroups('garbage\n')).toThrow(/malformed line "garbage"/);
    expect(() => parseProcessCgroups('x:cpu:/\n')).toThrow(CgroupError);
  });
});

describe('processCgroups', () => {
  it('reads /proc/self/cgroup', () => {
    const lines = processCgroups('self');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.path.startsWith('/'))).toBe(true);
  });

  it('reports a process that does not exist and refuses a bad pid', () => {
    expect(() => processCgroups(2 ** 30)).toThrow(
      expect.objectContaining({ operation: 'read', errno: 'ENOENT' }),
    );
    expect(() => processCgroups(-3)).toThrow(/is not a process id/);
  });
});
