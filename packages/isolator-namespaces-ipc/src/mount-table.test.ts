import { describe, expect, it } from 'vitest';
import { mountsAtOrUnder, parseMountInfo } from './mount-table.ts';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '25 22 0:23 / /dev/shm rw,nosuid,nodev shared:5 master:2 - tmpfs shm rw,size=1024k,mode=1777',
  '40 22 0:41 / /run/corral/containers/c1/shm rw - tmpfs tmpfs rw',
  '41 40 0:42 / /run/corral/containers/c1/shm/inner rw - tmpfs tmpfs rw',
  '42 22 0:43 / /run/corral/containers/c1/shmx rw - tmpfs tmpfs rw',
  '43 22 0:44 / /tmp/with\\040space\\134slash rw - tmpfs my\\040source rw',
  'garbage',
  '',
].join('\n');

describe('parseMountInfo', () => {
  const entries = parseMountInfo(MOUNTINFO);

  it('reads the fields after a variable number of optional fields', () => {
    expect(entries).toHaveLength(6);
    expect(entries[1]).toEqual({
      device: '0:23',
      mountPoint: '/dev/shm',
      mountOptions: 'rw,nosuid,nodev',
      fsType: 'tmpfs',
      source: 'shm',
      superOptions: 'rw,size=1024k,mode=1777',
    });
  });

  it('unescapes octal escapes in paths', () => {
    expect(entries[5]?.mountPoint).toBe('/tmp/with space\\slash');
    expect(entries[5]?.source).toBe('my source');
  });

  it('finds mounts at or under a directory, not its name-prefixed siblings', () => {
    const found = mountsAtOrUnder(entries, '/run/corral/containers/c1/shm').map((e) => e.device);
    expect(found).toEqual(['0:41', '0:42']);
    expect(mountsAtOrUnder(entries, '/nowhere')).toEqual([]);
  });
});
