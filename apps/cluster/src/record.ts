import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A process the harness started, identified across pid reuse by its start time. */
export interface TrackedProcess {
  readonly pid: number;
  readonly startTime: number;
}

export interface NodeRecord {
  /** Slurm's node name, and the hostname in the node's UTS namespace. */
  readonly name: string;
  /** The node's address on the bridge (no prefix length). */
  readonly address: string;
  readonly netns: string;
  /** The file the node's UTS namespace is bind-mounted on. */
  readonly uts: string;
  readonly primaryHandle: number;
  readonly cgroupsRoot: string;
  readonly workDir: string;
  readonly runtimeDir: string;
  /** The agent's runtime socket, which corral-runc reaches through `%n` in oci.conf. */
  readonly socket: string;
  /** The agent's HTTP API, reachable from the switch namespace. */
  readonly url: string;
}

/**
 * What a cluster is made of. `up` writes it before creating anything, so `down` finds all of a
 * crashed `up`'s leftovers from it alone.
 */
export interface ClusterRecord {
  readonly id: string;
  readonly dir: string;
  /** The namespace holding the bridge, slurmctld and the Slurm clients. */
  readonly switchNetns: string;
  readonly slurmConf: string;
  /** A bundle (`rootfs -> /`) ready for `srun --container`. */
  readonly bundle: string;
  readonly nodes: readonly NodeRecord[];
  /** Daemons as last started, by role: `munged`, `slurmctld`, `slurmd:<node>`, `agent:<node>`. */
  readonly processes: Record<string, TrackedProcess>;
}

const FILE = 'cluster.json';

export function readRecord(dir: string): ClusterRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, FILE), 'utf8')) as ClusterRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Replaces the record atomically: a crash leaves the old one or the new one, never half. */
export function writeRecord(record: ClusterRecord): void {
  const path = join(record.dir, FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}
