import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuController, MemoryController, PidsController } from './controllers.ts';
import { CgroupControllerUnavailableError } from './errors.ts';
import { findCgroup2Mount, findV1Hierarchy } from './mounts.ts';
import { pidsController } from './pids.ts';
import { v1Cpu } from './v1/cpu.ts';
import { prepareV1Hierarchy } from './v1/hierarchy.ts';
import { v1Memory } from './v1/memory.ts';
import { v2Cpu } from './v2/cpu.ts';
import { v2Memory } from './v2/memory.ts';

/** Where a controller lives: a v1 hierarchy of its own, or the v2 hierarchy. */
export type ControllerLocation =
  | { readonly version: 1; readonly hierarchy: string }
  | { readonly version: 2; readonly hierarchy: string };

export interface LocateOptions {
  /** `--cgroups_hierarchy`: where a missing v1 hierarchy is mounted. */
  readonly base: string;
  /** The cgroup2 mount; default: the one in /proc/self/mounts. Tests pass a fake tree. */
  readonly unified?: string | undefined;
  /** Default: look up and, if needed, mount the v1 hierarchy. Tests pass `false` for v2 only. */
  readonly v1?: boolean;
}

function v2Controllers(unified: string): string[] {
  const file = join(unified, 'cgroup.controllers');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : [];
}

/**
 * Where `subsystem` can be used: a mounted v1 hierarchy first (hybrid hosts such as Debian's bind
 * cpu, memory and pids to v1 and leave v2 empty), then the v2 hierarchy when its root lists the
 * controller, then a v1 hierarchy mounted now under `base`. Otherwise a
 * `CgroupControllerUnavailableError` says what each version lacked.
 */
export async function locateController(
  subsystem: 'cpu' | 'cpuacct' | 'memory' | 'pids',
  { base, unified = findCgroup2Mount(), v1 = true }: LocateOptions,
): Promise<ControllerLocation> {
  if (v1) {
    const mounted = findV1Hierarchy(subsystem);
    if (mounted !== undefined) return { version: 1, hierarchy: mounted };
  }
  const v2Name = subsystem === 'cpuacct' ? 'cpu' : subsystem;
  const available = unified === undefined ? [] : v2Controllers(unified);
  if (unified !== undefined && available.includes(v2Name))
    return { version: 2, hierarchy: unified };
  const v2 =
    unified === undefined
      ? 'no cgroup2 filesystem is mounted'
      : `'${join(unified, 'cgroup.controllers')}' lists ${available.length === 0 ? 'no controllers' : available.join(' ')}`;
  if (!v1) throw new CgroupControllerUnavailableError(v2Name, 'not looked for', v2);
  try {
    return { version: 1, hierarchy: await prepareV1Hierarchy(base, subsystem) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CgroupControllerUnavailableError(subsystem, reason, v2, { cause: error });
  }
}

/** The cpu controller (with cpuacct on v1, co-mounted or not). */
export async function cpuController(options: LocateOptions): Promise<CpuController> {
  const cpu = await locateController('cpu', options);
  if (cpu.version === 2) return v2Cpu(cpu.hierarchy);
  // cpu is bound to v1, so v2 has no 'cpu' and cpuacct resolves to a v1 hierarchy too.
  const cpuacct = await locateController('cpuacct', options);
  return v1Cpu(cpu.hierarchy, cpuacct.hierarchy);
}

export async function memoryController(options: LocateOptions): Promise<MemoryController> {
  const memory = await locateController('memory', options);
  return memory.version === 1 ? v1Memory(memory.hierarchy) : v2Memory(memory.hierarchy);
}

export async function pidsControllerFor(options: LocateOptions): Promise<PidsController> {
  const pids = await locateController('pids', options);
  return pidsController(pids.hierarchy, pids.version);
}
