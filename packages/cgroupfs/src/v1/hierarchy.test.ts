import { describe, expect, it } from 'vitest';
import { CgroupMountError } from '../errors.ts';
import { parseProcCgroups } from '../proc-cgroups.ts';
import { mountCandidates, prepareV1Hierarchy } from './hierarchy.ts';

const procCgroups = (lines: string) =>
  parseProcCgroups(`#subsys_name\thierarchy\tnum_cgroups\tenabled\n${lines}`);

describe('mountCandidates', () => {
  it('tries a free subsystem alone, then with its known companion', () => {
    const subsystems = procCgroups('net_cls 0 1 1\nnet_prio 0 1 1\nperf_event 0 1 1\n');
    expect(mountCandidates('net_cls', subsystems)).toEqual([['net_cls'], ['net_cls', 'net_prio']]);
    expect(mountCandidates('perf_event', subsystems)).toEqual([['perf_event']]);
  });

  it('mounts exactly the set the kernel has bound to the same hierarchy', () => {
    const subsystems = procCgroups('cpu 1 1 1\nnet_cls 11 2 1\nnet_prio 11 2 1\n');
    expect(mountCandidates('net_prio', subsystems)).toEqual([['net_cls', 'net_prio']]);
  });

  it('leaves out a disabled companion', () => {
    const subsystems = procCgroups('cpu 0 1 1\ncpuacct 0 1 0\n');
    expect(mountCandidates('cpu', subsystems)).toEqual([['cpu']]);
  });

  it('refuses an unknown subsystem, listing the ones the kernel knows', () => {
    const subsystems = procCgroups('cpu 0 1 1\nmemory 0 1 1\n');
    expect(() => mountCandidates('net_cls', subsystems)).toThrow(
      "Unknown cgroup subsystem 'net_cls'; this kernel knows: cpu, memory",
    );
  });

  it('refuses a disabled subsystem', () => {
    const subsystems = procCgroups('memory 0 1 0\n');
    let caught: unknown;
    try {
      mountCandidates('memory', subsystems);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CgroupMountError);
    expect(caught).toMatchObject({
      code: 'CORRAL_CGROUP_MOUNT_ERROR',
      reason: 'disabled_subsystem',
      subsystem: 'memory',
    });
  });
});

describe('prepareV1Hierarchy', () => {
  it('refuses a subsystem /proc/cgroups does not list, naming the known ones', async () => {
    await expect(prepareV1Hierarchy('/tmp', 'no_such_subsystem')).rejects.toMatchObject({
      code: 'CORRAL_CGROUP_MOUNT_ERROR',
      reason: 'unknown_subsystem',
      message: expect.stringMatching(
        /^Unknown cgroup subsystem 'no_such_subsystem'; this kernel knows: \w+/,
      ),
    });
  });
});
