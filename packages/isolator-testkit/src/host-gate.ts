import { existsSync, readFileSync } from 'node:fs';
import type { IsolatorRequirements } from '@corral/core';
import { describe, it } from 'vitest';

/** What the kit reads about the host; tests pass their own. */
export interface HostFacts {
  readonly platform: NodeJS.Platform;
  readonly uid: number | undefined;
  readonly hasNamespace: (name: string) => boolean;
  readonly enabledCgroupSubsystems: () => ReadonlySet<string>;
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

const thisHost: HostFacts = {
  platform: process.platform,
  uid: process.getuid?.(),
  hasNamespace: (name) => existsSync(`/proc/self/ns/${name}`),
  enabledCgroupSubsystems: enabledSubsystems,
};

/** Why `host` cannot meet `requires` (the manifest's `requires`), or undefined when it can. */
export function missingRequirement(
  requires: IsolatorRequirements,
  host: HostFacts = thisHost,
): string | undefined {
  const needsLinux = requires.linux || requires.namespaces || requires.cgroupSubsystems;
  if (needsLinux && host.platform !== 'linux') return `needs Linux, this is ${host.platform}`;
  if (requires.root && host.uid !== 0) return `needs root, this runs as uid ${host.uid}`;
  const namespace = requires.namespaces?.find((name) => !host.hasNamespace(name));
  if (namespace) return `needs kernel support for ${namespace} namespaces`;
  if (requires.cgroupSubsystems?.length) {
    const enabled = host.enabledCgroupSubsystems();
    const subsystem = requires.cgroupSubsystems.find((name) => !enabled.has(name));
    if (subsystem) return `needs the '${subsystem}' cgroup subsystem enabled`;
  }
  return undefined;
}

/**
 * `describe` for suites that need more than an ordinary user has. Where a requirement is missing,
 * the suite is skipped on a workstation but fails under `CI=true`, so a CI machine that silently
 * lacks root or a kernel feature cannot pass by running nothing.
 */
export function describeOnHost(
  name: string,
  requires: IsolatorRequirements,
  suite: () => void,
): void {
  const missing = missingRequirement(requires);
  if (missing === undefined) {
    describe(name, suite);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it requires (required under CI=true)', () => {
        throw new Error(`${name}: ${missing}; under CI=true every suite must run`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${missing})`, suite);
  }
}
