import {
  type ContainerID,
  containerIdToString,
  defineIsolator,
  defineManifest,
  flag,
  InvalidContainerConfigError,
  type Isolator,
  UnknownContainerError,
} from '@corral/core';
import type { Probe } from '../src/harness.ts';

/** Ways the fake breaks the contract, one per rule the kit must catch. */
export interface Faults {
  readonly leakOnCleanup?: boolean;
  readonly throwOnUnknownCleanup?: boolean;
  readonly leakOnFailedPrepare?: boolean;
  readonly ignoreRecover?: boolean;
  readonly badLaunchInfo?: boolean;
  readonly watchResolves?: boolean;
  readonly createThrows?: boolean;
  /** Declares launch fields in `honours` that prepare never reads. */
  readonly ignoresHonoured?: boolean;
}

/** The launch fields the fake declares it honours. */
export const FAKE_HONOURS = ['container.rlimit_info', 'resources[name=fake_units]'];

/** The config that makes the fake's prepare fail. */
export const FAILING_COMMAND = 'refused-by-fake';

/**
 * An isolator that holds one entry per container in `host` (standing in for a cgroup or a mount)
 * and tracks containers in memory, like a real one, unless a fault says otherwise.
 */
export function fakeIsolator(host: Set<string>, faults: Faults = {}): Isolator {
  const known = new Set<string>();
  const require = (id: ContainerID): string => {
    const key = containerIdToString(id);
    if (!known.has(key)) throw new UnknownContainerError(key);
    return key;
  };
  return {
    recover(states, orphans) {
      if (faults.ignoreRecover) return;
      for (const state of states) known.add(containerIdToString(state.container_id));
      for (const id of orphans) known.add(containerIdToString(id));
    },
    prepare(id, config) {
      const key = containerIdToString(id);
      host.add(key);
      if (config.command_info.value === FAILING_COMMAND) {
        if (!faults.leakOnFailedPrepare) host.delete(key);
        throw new InvalidContainerConfigError('command.value', 'the fake refuses it');
      }
      known.add(key);
      if (!faults.ignoresHonoured) {
        // What a real isolator would act on: limits and a resource of its own.
        void config.container_info?.rlimit_info;
        void config.resources?.find((resource) => resource.name === 'fake_units');
      }
      if (faults.badLaunchInfo) return { rootfs: '/' } as never;
      return { environment: { variables: [{ name: 'FAKE', value: key }] } };
    },
    isolate(id) {
      require(id);
    },
    watch() {
      return faults.watchResolves ? Promise.resolve({ message: 'limit' }) : new Promise(() => {});
    },
    status(id) {
      require(id);
      return {};
    },
    usage(id) {
      require(id);
      return { processes: 1 };
    },
    metrics: () => ({ containers: known.size }),
    cleanup(id) {
      const key = containerIdToString(id);
      if (!known.has(key)) {
        if (faults.throwOnUnknownCleanup) throw new UnknownContainerError(key);
        return;
      }
      known.delete(key);
      if (!faults.leakOnCleanup) host.delete(key);
    },
  };
}

export function fakeDefinition(host: Set<string>, faults: Faults = {}) {
  return defineIsolator({
    name: 'fake/host',
    description: 'Holds one host entry per container',
    flags: { fake_limit: flag.integer({ help: 'A limit', min: 1, max: 10, default: 5 }) },
    honours: FAKE_HONOURS,
    create: () => {
      if (faults.createThrows) throw new Error('no host for the fake');
      return fakeIsolator(host, faults);
    },
  });
}

export function fakeManifest(host: Set<string>, faults: Faults = {}) {
  return defineManifest(fakeDefinition(host, faults));
}

export function hostProbe(host: ReadonlySet<string>): Probe {
  return (id) => {
    const key = containerIdToString(id);
    return host.has(key) ? [`host entry '${key}'`] : [];
  };
}
