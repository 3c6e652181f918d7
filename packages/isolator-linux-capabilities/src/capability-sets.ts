import { CAPABILITIES, type Capability, capabilityNumber } from '@corral/core';

/** Reports a bad value; the caller decides which error (a flag's or a container field's). */
export type Fail = (message: string) => never;

export const EXAMPLE = '{"capabilities": ["NET_BIND_SERVICE"]}';

/** A set as Mesos prints it: `{CHOWN, NET_RAW}`. */
export function showSet(set: readonly Capability[]): string {
  return `{${set.map((name) => name.slice(4)).join(', ')}}`;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(JSON.stringify(value));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `NET_RAW`, `CAP_NET_RAW`, `net_raw` or `cap_net_raw` as `CAP_NET_RAW`; undefined otherwise. */
export function normalizeCapability(name: unknown): Capability | undefined {
  if (typeof name !== 'string') return undefined;
  const upper = name.toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return capabilityNumber(full) === undefined ? undefined : (full as Capability);
}

/**
 * A `CapabilityInfo` (`{"capabilities": [...]}`), checked: every name known (Mesos' names, with or
 * without `CAP_`, in any case; `UNKNOWN` is not one) and given once. Returns `CAP_` names.
 */
export function parseCapabilityInfo(value: unknown, fail: Fail): Capability[] {
  if (!isRecord(value)) fail(`${show(value)} is not an object like ${EXAMPLE}`);
  const list: unknown = value.capabilities ?? [];
  if (!Array.isArray(list)) fail(`capabilities ${show(list)} is not a list like ${EXAMPLE}`);
  const set: Capability[] = [];
  for (const name of list) {
    const capability = normalizeCapability(name);
    if (capability === undefined) {
      fail(
        `${show(name)} is not a capability; accepted: ${CAPABILITIES.map((c) => c.slice(4)).join(', ')} (also with CAP_, in any case)`,
      );
    }
    if (set.includes(capability)) fail(`${capability.slice(4)} is given twice`);
    set.push(capability);
  }
  return set;
}

/** Refuses names the running kernel lacks: its last capability is `lastCap`. */
export function checkKernelHas(set: readonly Capability[], lastCap: number, fail: Fail): void {
  const missing = set.find((name) => (capabilityNumber(name) ?? 0) > lastCap);
  if (missing !== undefined) {
    fail(
      `${missing.slice(4)} (capability ${capabilityNumber(missing)}) is not supported by this kernel, whose last capability is ${CAPABILITIES[lastCap]?.slice(4) ?? lastCap} (${lastCap}, /proc/sys/kernel/cap_last_cap)`,
    );
  }
}

/** The members of `set` outside `bound`. */
export function outside(set: readonly Capability[], bound: readonly Capability[]): Capability[] {
  return set.filter((name) => !bound.includes(name));
}
