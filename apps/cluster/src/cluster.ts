import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { destroyCgroup, readMounts } from '@corral/cgroupfs';
import { readProcStat } from '@corral/procfs';
import { makeBundle, ociConfig } from '@corral/test-support/oci-bundle';
import {
  type SlurmCommand,
  startMunged,
  waitForNodeStates,
  writeSlurmConfig,
} from '@corral/test-support/slurm';
import {
  ClusterCommandError,
  ClusterExistsError,
  ClusterNotFoundError,
  ClusterTeardownError,
  ClusterUsageError,
  UnknownNodeError,
} from './errors.ts';
import {
  createBridge,
  createNetns,
  createUts,
  deleteNetns,
  killAndWait,
  netnsInode,
  nsenterArgs,
  plugIn,
  processesIn,
  removeUts,
} from './namespaces.ts';
import {
  type ClusterRecord,
  type NodeRecord,
  readRecord,
  type TrackedProcess,
  writeRecord,
} from './record.ts';

const AGENT_BIN = fileURLToPath(
  new URL('../node_modules/@corral/agent/bin/corral-agent.js', import.meta.url),
);
const RUNC_BIN = fileURLToPath(
  new URL('../node_modules/@corral/runtime/bin/corral-runc.js', import.meta.url),
);

export const DEFAULT_NODES = 3;
export const MAX_NODES = 32;
/** net_cls primary handles: node i gets base + i (classids are kernel-wide, so all differ). */
export const DEFAULT_PRIMARY_HANDLE_BASE = 0xc100;
/** A benchmarking range (RFC 2544) that other Corral tests leave alone; only in our namespaces. */
const SUBNET = '198.18.16';
const BRIDGE = 'br0';
// Each daemon has a network namespace of its own, so fixed ports never collide.
const CTLD_PORT = 6817;
const SLURMD_PORT = 6818;
const AGENT_PORT = 5051;
const ISOLATION = 'cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem';
const START_TIMEOUT_MS = 60_000;

export interface UpOptions {
  /** Where everything the cluster keeps lives (created; removed by `down`). */
  readonly dir: string;
  readonly nodes?: number;
  readonly primaryHandleBase?: number;
}

/** What the record says a cluster of `count` nodes under `dir` is made of. */
function plan(dir: string, count: number, primaryHandleBase: number): ClusterRecord {
  // Unique per run, so parallel or crashed runs never share a namespace name.
  const id = randomBytes(3).toString('hex');
  const nodes = Array.from({ length: count }, (_, index): NodeRecord => {
    const name = `node${index + 1}`;
    const address = `${SUBNET}.${11 + index}`;
    const home = join(dir, 'nodes', name);
    return {
      name,
      address,
      netns: `corral-${id}-${name}`,
      uts: join(home, 'uts'),
      primaryHandle: primaryHandleBase + index + 1,
      cgroupsRoot: `corral-cluster-${id}-${name}`,
      workDir: join(home, 'work'),
      runtimeDir: join(home, 'run'),
      socket: join(home, 'runtime.sock'),
      url: `http://${address}:${AGENT_PORT}`,
    };
  });
  return {
    id,
    dir,
    switchNetns: `corral-${id}-switch`,
    slurmConf: join(dir, 'etc', 'slurm.conf'),
    bundle: join(dir, 'bundle'),
    nodes,
    processes: {},
  };
}

/**
 * Brings up slurmctld and munged once and `nodes` nodes, each a network and UTS namespace (its
 * hostname is its node name) with a veth to a bridge in a switch namespace, its own
 * `slurmd -N <node>` and its own corral-agent. Resolves once every node is idle in Slurm.
 * On failure, removes what it made.
 */
export async function up(options: UpOptions): Promise<Cluster> {
  const count = options.nodes ?? DEFAULT_NODES;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new ClusterUsageError(`nodes must be an integer from 1 to ${MAX_NODES}, got ${count}`);
  }
  const base = options.primaryHandleBase ?? DEFAULT_PRIMARY_HANDLE_BASE;
  if (!Number.isInteger(base) || base < 0 || base + count > 0xffff) {
    throw new ClusterUsageError(
      `the primary handle base must leave room for ${count} handles up to 0xffff, got 0x${base.toString(16)}`,
    );
  }
  const existing = readRecord(options.dir);
  if (existing) throw new ClusterExistsError(options.dir, existing.id);
  mkdirSync(options.dir, { recursive: true, mode: 0o755 });
  const record = plan(options.dir, count, base);
  writeRecord(record);
  try {
    return await Cluster.start(record);
  } catch (error) {
    try {
      await down(options.dir);
    } catch (cleanup) {
      throw new AggregateError([error, cleanup], 'up failed, and so did removing what it made');
    }
    throw error;
  }
}

/** The cluster recorded in `dir`. */
export function openCluster(dir: string): Cluster {
  const record = readRecord(dir);
  if (!record) throw new ClusterNotFoundError(dir);
  return new Cluster(record);
}

export interface NodeStatus {
  readonly name: string;
  readonly address: string;
  /** Slurm's state of the node (`idle`, `mixed`, `down*`, …), or `unknown`. */
  readonly slurm: string;
  readonly slurmd: boolean;
  readonly agent: boolean;
  /** Containers in the agent's `/containers`, or undefined when it does not answer. */
  readonly containers: number | undefined;
}

/** A running cluster: its Slurm clients, its agents, and its nodes' failures. */
export class Cluster {
  readonly #record: ClusterRecord;

  constructor(record: ClusterRecord) {
    this.#record = record;
  }

  get record(): ClusterRecord {
    return this.#record;
  }

  /** The environment Slurm's clients need (SLURM_CONF). */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, SLURM_CONF: this.#record.slurmConf };
  }

  node(name: string): NodeRecord {
    const node = this.#record.nodes.find((candidate) => candidate.name === name);
    if (!node) {
      throw new UnknownNodeError(
        name,
        this.#record.nodes.map((known) => known.name),
      );
    }
    return node;
  }

  /** `nsenter` arguments that run a Slurm client where slurmctld and the nodes are reachable. */
  slurmArgs(command: string, args: readonly string[]): string[] {
    return [...nsenterArgs(this.#record.switchNetns), command, ...args];
  }

  /** Runs a Slurm client (sinfo, squeue, sbatch, scontrol…) to completion. */
  readonly slurm: SlurmCommand = (command, args) =>
    spawnSync('nsenter', this.slurmArgs(command, args), {
      env: this.env,
      encoding: 'utf8',
      timeout: 30_000,
    });

  /** GET a path of a node's agent API (from the switch namespace); resolves with its JSON. */
  async agentGet(name: string, path: string): Promise<unknown> {
    const { stdout } = await promisify(execFile)(
      'nsenter',
      [
        ...nsenterArgs(this.#record.switchNetns),
        process.execPath,
        '--input-type=module',
        '-e',
        'const r = await fetch(process.argv[1]); process.stdout.write(await r.text()); if (!r.ok) process.exitCode = 1;',
        `${this.node(name).url}${path}`,
      ],
      { timeout: 10_000 },
    );
    return JSON.parse(stdout);
  }

  /** Makes what `record` plans (it is written already); resolves once every node is idle. */
  static async start(record: ClusterRecord): Promise<Cluster> {
    const cluster = new Cluster(record);
    await cluster.#build();
    return cluster;
  }

  async #build(): Promise<void> {
    const record = this.#record;
    const { dir } = record;
    for (const path of [join(dir, 'logs'), join(dir, 'slurm', 'state')]) {
      mkdirSync(path, { recursive: true });
    }
    const munged = startMunged(join(dir, 'munge'));
    this.#track('munged', munged.pid);

    createNetns(record.switchNetns);
    createBridge(record.switchNetns, BRIDGE, `${SUBNET}.1/24`);
    for (const node of record.nodes) {
      mkdirSync(join(dir, 'nodes', node.name), { recursive: true });
      createNetns(node.netns);
      plugIn(record.switchNetns, BRIDGE, `veth-${node.name}`, node.netns, `${node.address}/24`);
      createUts(node.uts, node.name);
    }

    writeSlurmConfig(
      join(dir, 'etc'),
      {
        clusterName: `corral${record.id}`,
        // slurmctld checks that it runs on this host name; it shares ours.
        controller: { name: hostname().split('.')[0] as string, address: `${SUBNET}.1` },
        ctldPort: CTLD_PORT,
        slurmdPort: SLURMD_PORT,
        dir: join(dir, 'slurm'),
        mungeSocket: munged.socket,
        credentialLifetime: 10,
        nodes: record.nodes.map((node) => ({ name: node.name, address: node.address, cpus: 2 })),
        extra: [
          // A dead node is DOWN within ~30 s (the default is 300 s), and its requeued batch
          // jobs may start again ~10 s later (the launch credential's lifetime; default 120 s).
          'SlurmdTimeout=10',
          'JobRequeue=1',
          'KillWait=5',
        ],
      },
      // Slurm picks each node's agent by its node name (%n) in the socket path.
      `${process.execPath} ${RUNC_BIN} --agent ${join(dir, 'nodes', '%n', 'runtime.sock')}`,
    );
    makeBundle(dir, 'bundle', ociConfig(['true'], { linux: { namespaces: [{ type: 'ipc' }] } }));

    this.#daemon('slurmctld', nsenterArgs(record.switchNetns), 'slurmctld', [
      '-D',
      '-f',
      record.slurmConf,
    ]);
    for (const node of record.nodes) await this.startNode(node.name);
    await waitForNodeStates(this.slurm, 'idle', START_TIMEOUT_MS);
  }

  /** Starts the node's slurmd and agent (after `killNode`); resolves once the agent answers. */
  async startNode(name: string): Promise<void> {
    const node = this.node(name);
    this.#daemon(`slurmd:${name}`, nsenterArgs(node.netns, node.uts), 'slurmd', [
      '-D',
      '-f',
      this.#record.slurmConf,
      '-N',
      name,
    ]);
    await this.startAgent(name);
  }

  /** Starts the node's agent on its dirs, socket and cgroups root; resolves once recovered. */
  async startAgent(name: string): Promise<void> {
    const node = this.node(name);
    const agent = this.#daemon(
      `agent:${name}`,
      nsenterArgs(node.netns, node.uts),
      process.execPath,
      [
        AGENT_BIN,
        `--ip=${node.address}`,
        `--port=${AGENT_PORT}`,
        `--work_dir=${node.workDir}`,
        `--runtime_dir=${node.runtimeDir}`,
        `--cgroups_root=${node.cgroupsRoot}`,
        `--isolation=${ISOLATION}`,
        `--cgroups_net_cls_primary_handle=0x${node.primaryHandle.toString(16)}`,
        `--runtime_socket=${node.socket}`,
      ],
    );
    // The socket answers only once recovery is done.
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await answers(node.socket))) {
      if (!isTracked(agent) || Date.now() > deadline) {
        throw new ClusterCommandError(
          `the agent of ${name} did not answer on ${node.socket} within ${START_TIMEOUT_MS} ms:\n${this.#logTail(`agent:${name}`)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGKILLs the node's agent only, as a crash would: its containers keep running. */
  async crashAgent(name: string): Promise<void> {
    const agent = this.#record.processes[`agent:${this.node(name).name}`];
    if (agent && isTracked(agent)) await killAndWait([agent.pid], 10_000);
  }

  /**
   * The node dies: every process in its network namespace (slurmd, slurmstepd, corral-runc, the
   * agent, the containers) is SIGKILLed. Its namespaces, disk and cgroups stay, as a machine's
   * disk does; `startNode` brings it back.
   */
  async killNode(name: string): Promise<void> {
    const inode = netnsInode(this.node(name).netns);
    if (inode !== undefined) await killAndWait(processesIn(new Set([inode])), 10_000);
  }

  async status(): Promise<NodeStatus[]> {
    const sinfo = this.slurm('sinfo', ['-h', '-N', '-o', '%N %T']).stdout;
    const states = new Map(
      sinfo
        .trim()
        .split('\n')
        .map((line) => line.split(' ') as [string, string]),
    );
    return Promise.all(
      this.#record.nodes.map(async (node): Promise<NodeStatus> => {
        const agent = this.#running(`agent:${node.name}`);
        let containers: number | undefined;
        if (agent) {
          const list = await this.agentGet(node.name, '/containers').catch(() => undefined);
          containers = Array.isArray(list) ? list.length : undefined;
        }
        return {
          name: node.name,
          address: node.address,
          slurm: states.get(node.name) ?? 'unknown',
          slurmd: this.#running(`slurmd:${node.name}`),
          agent,
          containers,
        };
      }),
    );
  }

  #running(role: string): boolean {
    const tracked = this.#record.processes[role];
    return tracked !== undefined && isTracked(tracked);
  }

  #logTail(role: string): string {
    const path = logPath(this.#record.dir, role);
    return existsSync(path) ? readFileSync(path, 'utf8').split('\n').slice(-20).join('\n') : '';
  }

  #track(role: string, pid: number): TrackedProcess {
    const stat = readProcStat(pid);
    if (!stat) throw new ClusterCommandError(`${role} (pid ${pid}) exited at once`);
    const tracked = { pid, startTime: stat.startTime };
    this.#record.processes[role] = tracked;
    writeRecord(this.#record);
    return tracked;
  }

  /** Starts a long-running daemon in namespaces, detached, logging to logs/<role>.log. */
  #daemon(
    role: string,
    namespaces: readonly string[],
    command: string,
    args: readonly string[],
  ): TrackedProcess {
    const log = openSync(logPath(this.#record.dir, role), 'a');
    try {
      const child = spawn('nsenter', [...namespaces, command, ...args], {
        detached: true,
        stdio: ['ignore', log, log],
      });
      child.unref();
      if (child.pid === undefined) throw new ClusterCommandError(`could not start ${role}`);
      // nsenter execs the command (no --fork), so the pid is the daemon's.
      return this.#track(role, child.pid);
    } finally {
      closeSync(log);
    }
  }
}

function logPath(dir: string, role: string): string {
  return join(dir, 'logs', `${role.replace(':', '-')}.log`);
}

/** True while the process started is still the one at its pid. */
function isTracked(tracked: TrackedProcess): boolean {
  const stat = readProcStat(tracked.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === tracked.startTime;
}

/** True when the runtime socket at `path` answers a request (any reply will do). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(5_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () =>
      socket.write(`${JSON.stringify({ verb: 'state', id: 'corral-cluster-probe' })}\n`),
    );
    socket.once('data', () => done(true));
  });
}

/**
 * Removes everything the cluster recorded in `dir` made, whatever state a crash left it in:
 * every process in its namespaces and every daemon it started, the agents' cgroups, the network
 * namespaces (with the bridge and veths inside), the UTS mounts, and `dir` itself (Slurm state,
 * sockets, logs). Idempotent; resolves with what it found to remove.
 */
export async function down(dir: string): Promise<string[]> {
  const record = readRecord(dir);
  if (!record) {
    if (existsSync(dir)) throw new ClusterNotFoundError(dir);
    return [];
  }
  const removed: string[] = [];
  const failures: string[] = [];
  const step = async (what: string, action: () => unknown) => {
    try {
      if ((await action()) !== false) removed.push(what);
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const namespaces = [record.switchNetns, ...record.nodes.map((node) => node.netns)];

  await step('processes', async () => {
    const inodes = new Set(
      namespaces.map(netnsInode).filter((inode): inode is number => inode !== undefined),
    );
    const daemons = Object.values(record.processes)
      .filter(isTracked)
      .map((tracked) => tracked.pid);
    const pids = [...new Set([...processesIn(inodes), ...daemons])];
    if (pids.length === 0) return false;
    await killAndWait(pids, 15_000);
  });
  const hierarchies = readMounts()
    .filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2')
    .map((mount) => mount.target);
  for (const node of record.nodes) {
    for (const hierarchy of hierarchies) {
      if (!existsSync(join(hierarchy, node.cgroupsRoot))) continue;
      await step(`cgroup ${join(hierarchy, node.cgroupsRoot)}`, () =>
        destroyCgroup(hierarchy, node.cgroupsRoot, { timeoutMs: 10_000 }),
      );
    }
  }
  for (const name of namespaces) {
    if (netnsInode(name) !== undefined) await step(`netns ${name}`, () => deleteNetns(name));
  }
  for (const node of record.nodes) {
    if (existsSync(node.uts)) await step(`uts ${node.uts}`, () => removeUts(node.uts));
  }
  if (failures.length > 0) {
    // The record stays, so another `down` can finish the job.
    throw new ClusterTeardownError(
      `could not remove all of cluster ${record.id} in ${dir}:\n${failures.join('\n')}`,
    );
  }
  await step(dir, () => rmSync(dir, { recursive: true, force: true }));
  if (failures.length > 0) throw new ClusterTeardownError(failures.join('\n'));
  return removed;
}
