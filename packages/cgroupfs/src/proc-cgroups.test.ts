import { afterEach, describe, expect, it } from 'vitest';
import { createFakeTree, type FakeTree } from '../test/fake-tree.ts';
import { CgroupError } from './errors.ts';
import { parseProcCgroups, readProcCgroups } from './proc-cgroups.ts';

// /proc/cgroups of a hybrid host after net_cls and net_prio were mounted together.
const HYBRID = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
memory\t4\t24\t1
net_cls\t11\t2\t1
net_prio\t11\t2\t1
perf_event\t0\t1\t1
hugetlb\t0\t1\t0
`;

describe('parseProcCgroups', () => {
  it('reads name, hierarchy id, cgroup count and enabled for every subsystem', () => {
    const subsystems = parseProcCgroups(HYBRID);
    expect(subsystems.map((s) => s.name)).toEqual([
      'cpuset',
      'cpu',
      'cpuacct',
      'memory',
      'net_cls',
      'net_prio',
      'perf_event',
      'hugetlb',
    ]);
    expect(subsystems.find((s) => s.name === 'memory')).toEqual({
      name: 'memory',
      hierarchy: 4,
      numCgroups: 24,
      enabled: true,
    });
    expect(subsystems.find((s) => s.name === 'hugetlb')).toMatchObject({
      hierarchy: 0,
      enabled: false,
    });
  });

  it('accepts space-separated columns and a missing trailing newline', () => {
    expect(parseProcCgroups('#h\nfreezer 6 1 1')).toEqual([
      { name: 'freezer', hierarchy: 6, numCgroups: 1, enabled: true },
    ]);
  });

  it.each(['cpu\t1\t1', 'cpu\tx\t1\t1', 'cpu\t1\t1\t2', 'cpu\t1\t1\t1\textra'])(
    'refuses the malformed line %j with a CgroupError naming the file',
    (line) => {
      expect(() => parseProcCgroups(`#h\n${line}\n`, '/proc/cgroups')).toThrow(CgroupError);
      expect(() => parseProcCgroups(`#h\n${line}\n`, '/proc/cgroups')).toThrow(
        /cgroup parse failed on '\/proc\/cgroups': malformed line/,
      );
    },
  );
});

describe('readProcCgroups', () => {
  let tree: FakeTree | undefined;
  afterEach(() => tree?.remove());

  it('reads the given file', () => {
    tree = createFakeTree();
    const file = tree.file('proc/cgroups', HYBRID);
    expect(
      readProcCgroups(file)
        .filter((s) => s.hierarchy === 11)
        .map((s) => s.name),
    ).toEqual(['net_cls', 'net_prio']);
  });

  it('reports a missing file as a CgroupError with errno ENOENT', () => {
    tree = createFakeTree();
    const missing = `${tree.root}/nope`;
    expect(() => readProcCgroups(missing)).toThrow(
      expect.objectContaining({
        code: 'CORRAL_CGROUP_ERROR',
        operation: 'read',
        path: missing,
        errno: 'ENOENT',
      }),
    );
  });
});
