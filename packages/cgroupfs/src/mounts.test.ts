import { afterEach, describe, expect, it } from 'vitest';
import { createFakeTree, type FakeTree } from '../test/fake-tree.ts';
import { CgroupError } from './errors.ts';
import { findCgroup2Mount, findV1Hierarchy, parseMounts, readMounts } from './mounts.ts';

// /proc/self/mounts of a hybrid host (as on the CI machines), trimmed.
const HYBRID = `proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
cgroup /tmp/with\\040space/net_cls cgroup rw,relatime,net_cls,net_prio 0 0
`;

describe('parseMounts', () => {
  it('splits source, target, type and options', () => {
    expect(parseMounts(HYBRID)[2]).toEqual({
      source: 'cgroup',
      target: '/sys/fs/cgroup/cpu',
      type: 'cgroup',
      options: ['rw', 'relatime', 'cpu'],
    });
  });

  it('decodes the octal escapes for space, tab, newline and backslash', () => {
    const [entry] = parseMounts(
      'my\\040disk /mnt/a\\040b\\011c\\012d\\134e ext4 rw,relatime 0 0\n',
    );
    expect(entry?.source).toBe('my disk');
    expect(entry?.target).toBe('/mnt/a b\tc\nd\\e');
  });

  it('refuses a line without options', () => {
    expect(() => parseMounts('cgroup /x cgroup\n')).toThrow(CgroupError);
  });
});

describe('findV1Hierarchy', () => {
  const mounts = parseMounts(HYBRID);

  it('matches a whole mount option, so cpu does not find cpuacct', () => {
    expect(findV1Hierarchy('cpu', mounts)).toBe('/sys/fs/cgroup/cpu');
    expect(findV1Hierarchy('cpuacct', mounts)).toBe('/sys/fs/cgroup/cpuacct');
  });

  it('finds co-mounted subsystems and named hierarchies, with escapes decoded', () => {
    expect(findV1Hierarchy('net_prio', mounts)).toBe('/tmp/with space/net_cls');
    expect(findV1Hierarchy('name=systemd', mounts)).toBe('/sys/fs/cgroup/systemd');
  });

  it('returns undefined for a subsystem that is not mounted, and never matches other types', () => {
    expect(findV1Hierarchy('pids', mounts)).toBeUndefined();
    expect(findV1Hierarchy('pids', parseMounts('none /x tmpfs rw,pids 0 0\n'))).toBeUndefined();
  });

  it('ignores a mount hidden by a later mount on the same directory or an ancestor', () => {
    const shadowed = parseMounts(`${HYBRID}tmpfs /sys/fs/cgroup tmpfs rw 0 0\n`);
    expect(findV1Hierarchy('freezer', shadowed)).toBeUndefined();
    expect(findV1Hierarchy('net_cls', shadowed)).toBe('/tmp/with space/net_cls');
    const remounted = parseMounts(`${HYBRID}tmpfs /sys/fs/cgroup/cpu tmpfs rw 0 0\n`);
    expect(findV1Hierarchy('cpu', remounted)).toBeUndefined();
  });
});

describe('findCgroup2Mount', () => {
  it('finds the unified hierarchy of a hybrid host', () => {
    expect(findCgroup2Mount(parseMounts(HYBRID))).toBe('/sys/fs/cgroup/unified');
  });

  it('finds it at /sys/fs/cgroup on a v2-only host, and nothing without one', () => {
    expect(findCgroup2Mount(parseMounts('cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n'))).toBe(
      '/sys/fs/cgroup',
    );
    expect(findCgroup2Mount(parseMounts('proc /proc proc rw 0 0\n'))).toBeUndefined();
  });
});

describe('readMounts', () => {
  let tree: FakeTree | undefined;
  afterEach(() => tree?.remove());

  it('reads and decodes the given file', () => {
    tree = createFakeTree();
    const file = tree.file('mounts', HYBRID);
    expect(readMounts(file).map((entry) => entry.target)).toContain('/tmp/with space/net_cls');
  });
});
