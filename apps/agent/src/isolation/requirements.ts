import { existsSync, readFileSync } from 'node:fs';
import { type IsolatorRequirements, RequirementNotMetError } from '@corral/core';

/** What the host offers, read once at start-up. */
export interface HostFacts {
  readonly platform: NodeJS.Platform;
  readonly uid: number | undefined;
  readonly namespaces: ReadonlySet<string>;
  readonly enabledCgroupSubsystems: ReadonlySet<string>;
}

export function readHostFacts(): HostFacts {
  const namespaces = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'uts'].filter((ns) =>
    existsSync(`/proc/self/ns/${ns}`),
  );
  const subsystems = existsSync('/proc/cgroups')
    ? readFileSync('/proc/cgroups', 'utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => line.split('\t'))
        .filter((fields) => fields[3] === '1')
        .map((fields) => fields[0] ?? '')
    : [];
  return {
    platform: process.platform,
    uid: process.getuid?.(),
    namespaces: new Set(namespaces),
    enabledCgroupSubsystems: new Set(subsystems),
  };
}

/** Throws RequirementNotMetError naming the isolator and the first unmet requirement. */
export function checkRequirements(
  isolator: string,
  requires: IsolatorRequirements | undefined,
  host: HostFacts,
): void {
  if (!requires) return;
  if (
    (requires.linux || requires.namespaces || requires.cgroupSubsystems) &&
    host.platform !== 'linux'
  ) {
    throw new RequirementNotMetError(isolator, 'Linux', `this host runs ${host.platform}`);
  }
  if (requires.root && host.uid !== 0) {
    throw new RequirementNotMetError(
      isolator,
      'root',
      `the agent runs as uid ${host.uid}; start it as root or leave '${isolator}' out of --isolation`,
    );
  }
  for (const ns of requires.namespaces ?? []) {
    if (!host.namespaces.has(ns)) {
      throw new RequirementNotMetError(
        isolator,
        `${ns} namespaces`,
        `the kernel has no /proc/self/ns/${ns}`,
      );
    }
  }
  for (const subsystem of requires.cgroupSubsystems ?? []) {
    if (!host.enabledCgroupSubsystems.has(subsystem)) {
      throw new RequirementNotMetError(
        isolator,
        `the '${subsystem}' cgroup subsystem`,
        'it is not enabled in /proc/cgroups',
      );
    }
  }
}
