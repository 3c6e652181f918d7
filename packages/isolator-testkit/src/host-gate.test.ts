import { describe, expect, it } from 'vitest';
import { type HostFacts, missingRequirement } from './host-gate.ts';

const host = (overrides: Partial<HostFacts> = {}): HostFacts => ({
  platform: 'linux',
  uid: 1000,
  hasNamespace: (name) => name !== 'cgroup',
  enabledCgroupSubsystems: () => new Set(['cpu', 'net_cls']),
  ...overrides,
});

describe('missingRequirement', () => {
  it('is undefined when the host has everything', () => {
    expect(missingRequirement({}, host())).toBeUndefined();
    expect(
      missingRequirement(
        { root: true, linux: true, namespaces: ['ipc'], cgroupSubsystems: ['net_cls'] },
        host({ uid: 0 }),
      ),
    ).toBeUndefined();
  });

  it.each([
    [{ linux: true }, host({ platform: 'darwin' }), 'needs Linux, this is darwin'],
    [{ namespaces: ['ipc' as const] }, host({ platform: 'darwin' }), 'needs Linux, this is darwin'],
    [{ root: true }, host(), 'needs root, this runs as uid 1000'],
    [{ namespaces: ['cgroup' as const] }, host(), 'needs kernel support for cgroup namespaces'],
    [{ cgroupSubsystems: ['freezer'] }, host(), "needs the 'freezer' cgroup subsystem enabled"],
  ])('names the first missing requirement of %o', (requires, facts, reason) => {
    expect(missingRequirement(requires, facts)).toBe(reason);
  });
});
