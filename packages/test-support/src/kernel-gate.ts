import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';

/** What an integration suite needs from the host. */
export interface KernelPrerequisites {
  /** Must run as uid 0. */
  readonly root?: boolean;
  /** Commands that must be on PATH (e.g. `nft`, `ipcmk`, `cc`). */
  readonly commands?: readonly string[];
  /** cgroup v1 subsystems that must be enabled in /proc/cgroups. */
  readonly cgroupSubsystems?: readonly string[];
  /** A cgroup2 filesystem must be mounted somewhere. */
  readonly cgroup2?: boolean;
  /** Namespaces that must exist in /proc/self/ns. */
  readonly namespaces?: readonly string[];
}

function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function enabledSubsystems(): Set<string> {
  if (!existsSync('/proc/cgroups')) return new Set();
  return new Set(
    readFileSync('/proc/cgroups', 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split('\t'))
      .filter((fields) => fields[3] === '1')
      .map((fields) => fields[0] ?? ''),
  );
}

/** Why this host cannot run a suite with `needs`, or undefined when it can. */
export function missingPrerequisite(needs: KernelPrerequisites): string | undefined {
  if (process.platform !== 'linux') return `needs Linux, this is ${process.platform}`;
  if (needs.root && process.getuid?.() !== 0) return 'needs root';
  const missingCommand = needs.commands?.find((command) => !commandExists(command));
  if (missingCommand) return `needs the '${missingCommand}' command`;
  const subsystems = enabledSubsystems();
  const missingSubsystem = needs.cgroupSubsystems?.find((name) => !subsystems.has(name));
  if (missingSubsystem) return `needs the '${missingSubsystem}' cgroup subsystem enabled`;
  if (needs.cgroup2 && !readFileSync('/proc/self/mounts', 'utf8').includes(' cgroup2 ')) {
    return 'needs a cgroup2 mount';
  }
  const missingNamespace = needs.namespaces?.find((ns) => !existsSync(`/proc/self/ns/${ns}`));
  if (missingNamespace) return `needs kernel support for ${missingNamespace} namespaces`;
  return undefined;
}

/**
 * `describe` for suites that need the real kernel. Where a prerequisite is missing, the suite is
 * skipped on a laptop but fails under CI=true, where every prerequisite must be present.
 */
export function describeOnKernel(
  name: string,
  needs: KernelPrerequisites,
  suite: () => void,
): void {
  const missing = missingPrerequisite(needs);
  if (missing === undefined) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has its kernel prerequisites (required under CI=true)', () => {
        throw new Error(`${name}: ${missing}; CI=true requires every kernel test to run`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${missing})`, suite);
  }
}
