import { execFileSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Slurm 22.05 pieces shared by corral-runc's single-node test and the cluster harness: munged
 * on a private socket, a slurm.conf whose every file is under one directory (per node through
 * `%n`), an oci.conf whose commands are corral-runc, and bounded waits on sinfo and squeue.
 */

/** Runs a Slurm client command (sinfo, squeue, scancel…) where it reaches slurmctld. */
export type SlurmCommand = (command: string, args: readonly string[]) => SpawnSyncReturns<string>;

export interface Munged {
  readonly socket: string;
  readonly pid: number;
}

/** Starts munged as user `munge` with its socket, pid, log and seed files in `dir` (created). */
export function startMunged(dir: string): Munged {
  // munged checks that its directory is the munge user's and not writable by others.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  const uid = Number(execFileSync('id', ['-u', 'munge'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'munge'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  const socket = join(dir, 'munge.sock');
  const pidFile = join(dir, 'munged.pid');
  execFileSync('runuser', [
    '-u',
    'munge',
    '--',
    'munged',
    `--socket=${socket}`,
    `--pid-file=${pidFile}`,
    `--log-file=${join(dir, 'munged.log')}`,
    `--seed-file=${join(dir, 'seed')}`,
  ]);
  return { socket, pid: Number(readFileSync(pidFile, 'utf8')) };
}

export interface SlurmNode {
  readonly name: string;
  readonly address: string;
  readonly cpus: number;
}

export interface SlurmConfOptions {
  readonly clusterName: string;
  /** slurmctld's host name (it must be the name of the host it runs on) and address. */
  readonly controller: { readonly name: string; readonly address: string };
  readonly ctldPort: number;
  readonly slurmdPort: number;
  /** Where state, spool, pid and log files go. */
  readonly dir: string;
  readonly mungeSocket: string;
  /** Seconds a launch credential lives; a requeued job waits this long too (default 120). */
  readonly credentialLifetime?: number;
  readonly nodes: readonly SlurmNode[];
  /** More lines, e.g. timeouts. */
  readonly extra?: readonly string[];
}

/** The partition every node is in. */
export const PARTITION = 'corral';

/** A slurm.conf for root-run daemons with every file under `dir`, per node through `%n`. */
function slurmConf(options: SlurmConfOptions): string {
  const { dir } = options;
  return [
    `ClusterName=${options.clusterName}`,
    `SlurmctldHost=${options.controller.name}(${options.controller.address})`,
    `SlurmctldPort=${options.ctldPort}`,
    `SlurmdPort=${options.slurmdPort}`,
    'SlurmUser=root',
    'AuthType=auth/munge',
    `AuthInfo=socket=${options.mungeSocket}${options.credentialLifetime ? `,cred_expire=${options.credentialLifetime}` : ''}`,
    `StateSaveLocation=${join(dir, 'state')}`,
    `SlurmdSpoolDir=${join(dir, 'spool-%n')}`,
    `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
    `SlurmdPidFile=${join(dir, 'slurmd-%n.pid')}`,
    `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
    `SlurmdLogFile=${join(dir, 'slurmd-%n.log')}`,
    // Slurm's own cgroups would fight Corral's: track processes by /proc, bind no tasks.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'SelectType=select/cons_tres',
    // CPUs only: with memory as a resource too, each job would take a whole node.
    'SelectTypeParameters=CR_CPU',
    'MpiDefault=none',
    'ReturnToService=2',
    ...(options.extra ?? []),
    ...options.nodes.map(
      (node) => `NodeName=${node.name} NodeAddr=${node.address} CPUs=${node.cpus} State=UNKNOWN`,
    ),
    `PartitionName=${PARTITION} Nodes=${options.nodes.map((node) => node.name).join(',')} Default=YES MaxTime=10 State=UP`,
    '',
  ].join('\n');
}

/**
 * oci.conf: the four commands are `runc` (corral-runc with its `--agent`, where `%n` may pick
 * the node's agent) with Slurm's id pattern.
 */
function ociConf(runc: string): string {
  const id = '%n.%u.%j.%s.%t';
  return [
    `RunTimeQuery="${runc} state ${id}"`,
    `RunTimeKill="${runc} kill --all ${id}"`,
    `RunTimeDelete="${runc} delete --force ${id}"`,
    `RunTimeRun="${runc} run --bundle %b ${id}"`,
    '',
  ].join('\n');
}

/**
 * Writes `etc/slurm.conf` and, beside it where Slurm looks, `etc/oci.conf` running `runc`;
 * returns the slurm.conf path (SLURM_CONF, and `-f` of the daemons).
 */
export function writeSlurmConfig(etc: string, options: SlurmConfOptions, runc: string): string {
  mkdirSync(etc, { recursive: true });
  const conf = join(etc, 'slurm.conf');
  writeFileSync(conf, slurmConf(options));
  writeFileSync(join(etc, 'oci.conf'), ociConf(runc));
  return conf;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `sinfo -N` every 200 ms until every node is in `state`; throws after `timeoutMs`. */
export async function waitForNodeStates(
  slurm: SlurmCommand,
  state: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sinfo = slurm('sinfo', ['-h', '-N', '-o', '%N %T']);
    const lines = sinfo.stdout.trim().split('\n').filter(Boolean);
    if (lines.length > 0 && lines.every((line) => line.endsWith(` ${state}`))) return;
    if (Date.now() > deadline) {
      throw new Error(
        `nodes not ${state} after ${timeoutMs} ms (sinfo: ${sinfo.stdout}${sinfo.stderr})`,
      );
    }
    await sleep(200);
  }
}

/**
 * Cancels every job of the partition and waits (at most `timeoutMs`) until squeue is empty:
 * while slurmd still runs, so their RunTimeKill runs; a step left behind would outlive the
 * daemons (slurmstepd is not their child).
 */
export async function cancelAllJobs(slurm: SlurmCommand, timeoutMs: number): Promise<void> {
  slurm('scancel', ['--full', `--partition=${PARTITION}`]);
  const deadline = Date.now() + timeoutMs;
  while (slurm('squeue', ['-h']).stdout.trim() !== '' && Date.now() < deadline) await sleep(200);
}
