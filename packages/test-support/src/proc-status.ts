import { readFileSync } from 'node:fs';
import { CAPABILITIES } from '@corral/core';

/** What the kernel says a process runs with, from `/proc/<pid>/status`. */
export interface ProcessPrivileges {
  /** Real, effective, saved and filesystem uid. */
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  readonly groups: readonly number[];
  /** `CapInh`, `CapPrm`, `CapEff`, `CapBnd`, `CapAmb` as capability names (`CAP_CHOWN`, …). */
  readonly inheritable: readonly string[];
  readonly permitted: readonly string[];
  readonly effective: readonly string[];
  readonly bounding: readonly string[];
  readonly ambient: readonly string[];
  readonly noNewPrivs: boolean;
}

/** The names of a hexadecimal capability mask; bits this table lacks show as `CAP_<number>`. */
export function capabilityNames(mask: string): string[] {
  const bits = BigInt(`0x${mask}`);
  const names: string[] = [];
  for (let cap = 0; cap < 64; cap++) {
    if ((bits >> BigInt(cap)) & 1n) names.push(CAPABILITIES[cap] ?? `CAP_${cap}`);
  }
  return names;
}

export function processPrivileges(pid: number): ProcessPrivileges {
  const fields = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const field = (name: string) => fields.get(name) ?? '';
  const numbers = (name: string) => field(name).split(/\s+/).filter(Boolean).map(Number);
  return {
    uids: numbers('Uid'),
    gids: numbers('Gid'),
    groups: numbers('Groups'),
    inheritable: capabilityNames(field('CapInh')),
    permitted: capabilityNames(field('CapPrm')),
    effective: capabilityNames(field('CapEff')),
    bounding: capabilityNames(field('CapBnd')),
    ambient: capabilityNames(field('CapAmb')),
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}
