import { readFileSync } from 'node:fs';
import { CgroupError, errnoOf } from './errors.ts';

/** One line of /proc/cgroups: a v1 subsystem the kernel knows. */
export interface SubsystemInfo {
  readonly name: string;
  /**
   * The v1 hierarchy the subsystem is bound to; 0 when it is bound to none (or to the v2
   * hierarchy). Subsystems sharing a non-zero id can only be mounted together.
   */
  readonly hierarchy: number;
  readonly numCgroups: number;
  readonly enabled: boolean;
}

/** Parses the text of /proc/cgroups: a `#` header, then `name hierarchy num_cgroups enabled`. */
export function parseProcCgroups(text: string, file = '/proc/cgroups'): SubsystemInfo[] {
  const subsystems: SubsystemInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.trim().split(/\s+/);
    const [name, hierarchy, numCgroups, enabled] = fields;
    if (
      fields.length !== 4 ||
      name === undefined ||
      !isCount(hierarchy) ||
      !isCount(numCgroups) ||
      (enabled !== '0' && enabled !== '1')
    ) {
      throw new CgroupError('parse', file, {
        detail: `malformed line ${JSON.stringify(line)}; expected 'name hierarchy num_cgroups enabled'`,
      });
    }
    subsystems.push({
      name,
      hierarchy: Number(hierarchy),
      numCgroups: Number(numCgroups),
      enabled: enabled === '1',
    });
  }
  return subsystems;
}

function isCount(value: string | undefined): value is string {
  return value !== undefined && /^\d+$/.test(value);
}

/** The subsystems the running kernel knows, from /proc/cgroups. */
export function readProcCgroups(file = '/proc/cgroups'): SubsystemInfo[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CgroupError('read', file, { errno: errnoOf(error), cause: error });
  }
  return parseProcCgroups(text, file);
}
