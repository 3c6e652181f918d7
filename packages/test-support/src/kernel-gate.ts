import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Namespace, unmetRequirement } from '@corral/core';
import { describeIfPossible } from '@corral/isolator-testkit';

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
  readonly namespaces?: readonly Namespace[];
}

function commandExists(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why this host cannot run a suite with `needs`, or undefined when it can. */
export function missingPrerequisite(needs: KernelPrerequisites): string | undefined {
  const unmet = unmetRequirement({
    linux: true,
    ...(needs.root ? { root: true } : {}),
    ...(needs.namespaces ? { namespaces: needs.namespaces } : {}),
    ...(needs.cgroupSubsystems ? { cgroupSubsystems: needs.cgroupSubsystems } : {}),
  });
  if (unmet !== undefined) return `needs ${unmet}`;
  const missingCommand = needs.commands?.find((command) => !commandExists(command));
  if (missingCommand) return `needs the '${missingCommand}' command`;
  if (needs.cgroup2 && !readFileSync('/proc/self/mounts', 'utf8').includes(' cgroup2 ')) {
    return 'needs a cgroup2 mount';
  }
  return undefined;
}

/**
 * `describe` for suites that need the real kernel: skipped on a laptop that lacks a
 * prerequisite, failing under CI=true, where every prerequisite must be present.
 */
export function describeOnKernel(
  name: string,
  needs: KernelPrerequisites,
  suite: () => void,
): void {
  describeIfPossible(name, missingPrerequisite(needs), suite);
}
