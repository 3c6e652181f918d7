import { describe, expect, it } from 'vitest';
import { createLauncher, linuxLauncherAvailable } from './create-launcher.ts';
import { LinuxLauncher } from './linux-launcher.ts';
import { PosixLauncher } from './posix-launcher.ts';

describe('createLauncher', () => {
  it('builds the launcher kind that was asked for', () => {
    expect(createLauncher({ kind: 'posix', cgroupsRoot: 'corral' })).toBeInstanceOf(PosixLauncher);
    const linux = createLauncher({ kind: 'linux', cgroupsRoot: 'corral' });
    expect(linux).toBeInstanceOf(LinuxLauncher);
    expect(linux.kind).toBe('linux');
  });

  it('defaults to linux exactly when the linux launcher is available', () => {
    const launcher = createLauncher({ cgroupsRoot: 'corral' });
    expect(launcher.kind).toBe(linuxLauncherAvailable() ? 'linux' : 'posix');
  });
});
