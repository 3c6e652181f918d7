import { existsSync, readFileSync } from 'node:fs';
import type { IsolatorRequirements } from './manifest.ts';

/** What a host offers, for checking an isolator's `requires`. */
export interface HostFacts {
  readonly platform: NodeJS.Platform;
  readonly uid: number | undefined;
  hasNamespace(name: string): boolean;
  enabledCgroupSubsystems(): ReadonlySet<string>;
}

/** This host, read lazily from /proc. */
export const thisHost: HostFacts = {
  platform: process.platform,
  uid: process.getuid?.(),
  hasNamespace: (name) => existsSync(`/proc/self/ns/${name}`),
  enabledCgroupSubsystems: () =>
    new Set(
      existsSync('/proc/cgroups')
        ? readFileSync('/proc/cgroups', 'utf8')
            .split('\n')
            .filter((line) => line && !line.startsWith('#'))
            .map((line) => line.split('\t'))
            .filter((fields) => fields[3] === '1')
            .map((fields) => fields[0] ?? '')
        : [],
    ),
};

/**
 * What `requires` means, in one place for the agent (which refuses to start an isolator) and the
 * testkit (which gates a suite): why `host` cannot meet it, or undefined when it can.
 */
export function unmetRequirement(
  requires: IsolatorRequirements | undefined,
  host: HostFacts = thisHost,
): string | undefined {
  if (!requires) return undefined;
  const needsLinux = requires.linux || requires.namespaces || requires.cgroupSubsystems;
  if (needsLinux && host.platform !== 'linux') return `Linux (this host runs ${host.platform})`;
  if (requires.root && host.uid !== 0) return `root (this runs as uid ${host.uid})`;
  const namespace = requires.namespaces?.find((name) => !host.hasNamespace(name));
  if (namespace) return `${namespace} namespaces (the kernel has no /proc/self/ns/${namespace})`;
  if (requires.cgroupSubsystems?.length) {
    const enabled = host.enabledCgroupSubsystems();
    const subsystem = requires.cgroupSubsystems.find((name) => !enabled.has(name));
    if (subsystem) return `the '${subsystem}' cgroup subsystem (not enabled in /proc/cgroups)`;
  }
  return undefined;
}
