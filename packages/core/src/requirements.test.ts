import { describe, expect, it } from 'vitest';
import { type HostFacts, unmetRequirement } from './requirements.ts';

const host = (overrides: Partial<HostFacts> = {}): HostFacts => ({
  platform: 'linux',
  uid: 0,
  hasNamespace: (name) => name !== 'time',
  enabledCgroupSubsystems: () => new Set(['net_cls', 'freezer']),
  ...overrides,
});

describe('unmetRequirement', () => {
  it('is undefined when everything is met, or nothing is required', () => {
    expect(unmetRequirement(undefined, host())).toBeUndefined();
    expect(
      unmetRequirement(
        { root: true, linux: true, namespaces: ['ipc'], cgroupSubsystems: ['net_cls'] },
        host(),
      ),
    ).toBeUndefined();
  });

  it('names the first unmet requirement', () => {
    expect(unmetRequirement({ linux: true }, host({ platform: 'darwin' }))).toBe(
      'Linux (this host runs darwin)',
    );
    expect(unmetRequirement({ root: true }, host({ uid: 1000 }))).toBe(
      'root (this runs as uid 1000)',
    );
    expect(unmetRequirement({ namespaces: ['ipc', 'time' as 'ipc'] }, host())).toMatch(
      /^time namespaces/,
    );
    expect(unmetRequirement({ cgroupSubsystems: ['hugetlb'] }, host())).toMatch(
      /'hugetlb' cgroup subsystem/,
    );
  });
});
