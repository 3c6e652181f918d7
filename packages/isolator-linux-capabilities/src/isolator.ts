import { readFileSync } from 'node:fs';
import {
  type Capability,
  type ContainerConfig,
  type ContainerLaunchInfo,
  InvalidContainerConfigError,
  InvalidFlagError,
  type Isolator,
} from '@corral/core';
import {
  checkKernelHas,
  type Fail,
  outside,
  parseCapabilityInfo,
  showSet,
} from './capability-sets.ts';

/** The operator's sets (the flags) and the running kernel's last capability. */
export interface CapabilitySettings {
  readonly effective?: readonly Capability[];
  readonly bounding?: readonly Capability[];
  readonly lastCap: number;
}

export interface CapabilitySets {
  readonly effective?: readonly Capability[];
  readonly bounding: readonly Capability[];
}

const LINUX_INFO = 'container.linux_info';

/** `/proc/sys/kernel/cap_last_cap`: how many capabilities the running kernel has, less one. */
export function readLastCap(): number {
  const text = readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim();
  const last = Number(text);
  if (!/^\d+$/.test(text) || last > 63) {
    throw new Error(`/proc/sys/kernel/cap_last_cap holds '${text}', not a number from 0 to 63`);
  }
  return last;
}

function failFor(field: string): Fail {
  return (message) => {
    throw new InvalidContainerConfigError(field, message);
  };
}

/** A requested set of the container's linux_info, checked, or undefined when absent. */
function requested(
  config: ContainerConfig,
  key: 'capability_info' | 'effective_capabilities' | 'bounding_capabilities',
  lastCap: number,
): Capability[] | undefined {
  const value: unknown = config.container_info?.linux_info?.[key] ?? undefined;
  if (value === undefined) return undefined;
  const fail = failFor(`${LINUX_INFO}.${key}`);
  const set = parseCapabilityInfo(value, fail);
  checkKernelHas(set, lastCap, fail);
  return set;
}

/**
 * The sets a container gets, after Mesos' `prepare`: the effective set it asks for (either field)
 * or the operator's; the bounding set it asks for, which must lie inside the operator's, or the
 * operator's, or else its effective set; the effective set inside the bounding set. Undefined
 * when neither set is given anywhere: the command keeps its user's capabilities.
 */
export function capabilitySetsOf(
  config: ContainerConfig,
  settings: CapabilitySettings,
): CapabilitySets | undefined {
  const legacy = requested(config, 'capability_info', settings.lastCap);
  const asked = requested(config, 'effective_capabilities', settings.lastCap);
  if (legacy && asked) {
    throw new InvalidContainerConfigError(
      `${LINUX_INFO}.capability_info`,
      "give the effective set once: 'capability_info' is the deprecated name of 'effective_capabilities'",
    );
  }
  const askedBounding = requested(config, 'bounding_capabilities', settings.lastCap);
  if (askedBounding && settings.bounding) {
    const beyond = outside(askedBounding, settings.bounding);
    if (beyond.length > 0) {
      throw new InvalidContainerConfigError(
        `${LINUX_INFO}.bounding_capabilities`,
        `asks for ${showSet(beyond)}, outside what the agent allows, ${showSet(settings.bounding)} (--bounding_capabilities)`,
      );
    }
  }
  const effective = legacy ?? asked ?? settings.effective;
  const bounding = askedBounding ?? settings.bounding ?? effective;
  if (bounding === undefined) return undefined;
  const beyond = outside(effective ?? [], bounding);
  if (beyond.length > 0) {
    const source = askedBounding ? 'the bounding set asked for' : 'what the agent allows';
    throw new InvalidContainerConfigError(
      `${LINUX_INFO}.${legacy ? 'capability_info' : 'effective_capabilities'}`,
      `asks for ${showSet(beyond)}, outside ${source}, ${showSet(bounding)}`,
    );
  }
  return { ...(effective ? { effective } : {}), bounding };
}

/** Checks the operator's sets against each other and the kernel, as Mesos does at start. */
function checkSettings(settings: CapabilitySettings): void {
  for (const [flag, set] of [
    ['effective_capabilities', settings.effective],
    ['bounding_capabilities', settings.bounding],
  ] as const) {
    checkKernelHas(set ?? [], settings.lastCap, (message) => {
      throw new InvalidFlagError(flag, JSON.stringify(set), `Invalid --${flag}: ${message}`);
    });
  }
  const beyond = outside(settings.effective ?? [], settings.bounding ?? settings.effective ?? []);
  if (beyond.length > 0 && settings.bounding) {
    throw new InvalidFlagError(
      'effective_capabilities',
      JSON.stringify(settings.effective),
      `Invalid --effective_capabilities: ${showSet(beyond)} outside --bounding_capabilities ${showSet(settings.bounding)}`,
    );
  }
}

/**
 * The `linux/capabilities` isolator: it checks each container's capability sets against the
 * operator's and the kernel, and hands them to the launcher, whose init applies them before
 * exec. It keeps no state, so recovery and cleanup have nothing to do.
 */
export function createCapabilitiesIsolator(settings: CapabilitySettings): Isolator {
  checkSettings(settings);
  return {
    // Sets are per process: nested and standalone containers are evaluated alike, as in Mesos.
    supportsNesting: true,
    supportsStandalone: true,
    prepare(_id, config): ContainerLaunchInfo | undefined {
      const sets = capabilitySetsOf(config, settings);
      if (!sets) return undefined;
      return {
        ...(sets.effective ? { effective_capabilities: { capabilities: sets.effective } } : {}),
        bounding_capabilities: { capabilities: sets.bounding },
      };
    },
  };
}
