import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMounts } from '@corral/cgroupfs';
import { isRunning } from '@corral/procfs';
import { spawnCaptured } from '@corral/test-support/child-output';
import { eventually } from '@corral/test-support/eventually';
import { describeOnKernel } from '@corral/test-support/kernel';
import { type ContainerEntry, runtimeIdOf } from '@corral/test-support/oci-bundle';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Cluster, down, up } from '../src/cluster.ts';
import { netnsInode, processesIn } from '../src/namespaces.ts';
import type { NodeRecord } from '../src/record.ts';

/** The cgroup directories under a node agent's cgroups root, in every hierarchy. */
function cgroupsUnder(root: string): string[] {
  return readMounts()
    .filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2')
    .map((mount) => join(mount.target, root))
    .filter((path) => existsSync(path))
    .flatMap((path) =>
      spawnSync('find', [path, '-mindepth', '1', '-type', 'd'], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean),
    );
}

const classidOf = (entry: ContainerEntry | undefined) =>
  entry?.status?.cgroup_info?.net_cls?.classid;

describeOnKernel(
  'a three-node Slurm cluster of corral-agents on one machine',
  {
    root: true,
    commands: [
      'slurmctld',
      'slurmd',
      'srun',
      'sbatch',
      'munged',
      'runuser',
      'nsenter',
      'unshare',
      'ip',
    ],
    cgroupSubsystems: ['net_cls'],
  },
  () => {
    let dir: string;
    let clusterDir: string;
    let cluster: Cluster;
    let nodes: readonly NodeRecord[];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'corral-cluster-test-'));
      // munged (user munge) and job users must reach files below it.
      chmodSync(dir, 0o755);
      clusterDir = join(dir, 'cluster');
      const started = Date.now();
      cluster = await up({ dir: clusterDir });
      nodes = cluster.record.nodes;
      console.log(`cluster up in ${Date.now() - started} ms`);
    });

    afterAll(async () => {
      try {
        // Idempotent: after the last test's own `down` there is nothing left to do.
        await down(clusterDir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    const containersOf = async (node: string) =>
      (await cluster.agentGet(node, '/containers')) as ContainerEntry[];
    const slurm = (command: string, args: readonly string[]) => {
      const result = cluster.slurm(command, args);
      if (result.status !== 0) {
        throw new Error(`${command} ${args.join(' ')}: ${result.stderr}${result.error ?? ''}`);
      }
      return result.stdout;
    };
    const srun = (args: readonly string[]) =>
      spawnCaptured('nsenter', cluster.slurmArgs('srun', args), {
        env: cluster.env,
        timeout: 120_000,
      });
    const jobField = (jobId: string, field: string) =>
      new RegExp(`\\b${field}=(\\S+)`).exec(slurm('scontrol', ['show', 'job', jobId]))?.[1];
    /** net_cls handles the node's agent has handed out, from its /metrics/snapshot. */
    const handlesInUse = async (node: string) =>
      ((await cluster.agentGet(node, '/metrics/snapshot')) as Record<string, number>)[
        'isolator/cgroups/net_cls/handles_in_use'
      ];
    const nodeState = (node: string) =>
      /\bState=(\S+)/.exec(slurm('scontrol', ['show', 'node', node]))?.[1] ?? '';

    it('srun -N3 --container lands one step per node, each in its own agent under its own primary handle', async () => {
      const job = srun([
        '-N3',
        `--container=${cluster.record.bundle}`,
        'sh',
        '-c',
        'hostname; sleep 3',
      ]);
      const seen = new Map<string, ContainerEntry[]>();
      await eventually(async () => {
        for (const node of nodes) seen.set(node.name, await containersOf(node.name));
        return [...seen.values()].every((list) => classidOf(list[0]) !== undefined);
      }, 30_000);
      for (const node of nodes) {
        const list = seen.get(node.name) ?? [];
        expect(list).toHaveLength(1);
        expect(runtimeIdOf(list[0])).toMatch(new RegExp(`^${node.name}\\.root\\.\\d+\\.0\\.0$`));
        expect((classidOf(list[0]) ?? 0) >>> 16).toBe(node.primaryHandle);
      }
      const result = await job.result;
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout.trim().split('\n').sort()).toEqual(nodes.map((node) => node.name));
    });

    it('spreads a job array of 30 short containers over the nodes, all exiting 0', async () => {
      const output = join(dir, 'array');
      mkdirSync(output);
      const started = Date.now();
      // Polled here rather than with sbatch --wait, whose back-off (2, 4, 8… s) hides the time.
      const jobId = slurm('sbatch', [
        '--parsable',
        '--array=1-30',
        `--output=${join(output, '%a.out')}`,
        `--wrap=srun --container=${cluster.record.bundle} hostname`,
      ]).trim();
      await eventually(() => slurm('squeue', ['-h', '-j', jobId]).trim() === '', 120_000);
      const elapsed = Date.now() - started;
      const tasks = slurm('scontrol', ['show', 'job', '-o', jobId]).trim().split('\n');
      expect(tasks).toHaveLength(30);
      for (const task of tasks) expect(task).toMatch(/JobState=COMPLETED .*ExitCode=0:0/);
      const files = readdirSync(output);
      expect(files).toHaveLength(30);
      const counts = new Map(nodes.map((node) => [node.name, 0]));
      for (const file of files) {
        const host = readFileSync(join(output, file), 'utf8').trim();
        expect(counts.has(host), `${file}: ${host}`).toBe(true);
        counts.set(host, (counts.get(host) ?? 0) + 1);
      }
      console.log(
        `job array: 30 containers in ${elapsed} ms; per node: ${[...counts].map(([node, count]) => `${node}=${count}`).join(' ')}`,
      );
      for (const count of counts.values()) expect(count).toBeGreaterThan(0);
    });

    it("requeues a dead node's job on another node; the node's agent comes back with no orphan", async () => {
      const log = join(dir, 'requeue.out');
      // Only the first run sleeps: the requeued one (SLURM_RESTART_COUNT=1) ends at once.
      const script = `srun --container=${cluster.record.bundle} sh -c 'hostname; [ "\${SLURM_RESTART_COUNT:-0}" -gt 0 ] || sleep 300'`;
      const jobId = slurm('sbatch', [
        '--parsable',
        '--requeue',
        '--open-mode=append',
        `--output=${log}`,
        `--wrap=${script}`,
      ]).trim();
      let victim = '';
      await eventually(async () => {
        victim = jobField(jobId, 'NodeList') ?? '';
        if (!nodes.some((node) => node.name === victim)) return false;
        const list = await containersOf(victim);
        return list.some((entry) => classidOf(entry) !== undefined);
      }, 30_000);
      // Its output has come back through srun before the node dies.
      await eventually(
        () => existsSync(log) && readFileSync(log, 'utf8') === `${victim}\n`,
        10_000,
      );
      const root = cluster.node(victim).cgroupsRoot;
      expect(cgroupsUnder(root).length).toBeGreaterThan(0);

      const killed = Date.now();
      await cluster.killNode(victim);
      try {
        await eventually(() => nodeState(victim).startsWith('DOWN'), 90_000);
        const downAfter = Date.now() - killed;
        await eventually(() => jobField(jobId, 'JobState') === 'COMPLETED', 120_000);
        console.log(
          `node failure: ${victim} DOWN after ${downAfter} ms, job requeued and done after ${Date.now() - killed} ms`,
        );
        expect(jobField(jobId, 'Restarts')).toBe('1');
        const [first, second, ...rest] = readFileSync(log, 'utf8').trim().split('\n');
        expect(first).toBe(victim);
        expect(nodes.map((node) => node.name)).toContain(second);
        expect(second).not.toBe(victim);
        expect(rest).toEqual([]);
      } finally {
        // The node and its agent come back (also for the tests after this one).
        await cluster.startNode(victim);
      }
      // Recovery finds the dead container and cleans up: no container, cgroup or handle left.
      await eventually(() => /^(IDLE|MIXED)/.test(nodeState(victim)), 60_000);
      await eventually(async () => (await containersOf(victim)).length === 0, 20_000);
      expect(cgroupsUnder(root)).toEqual([]);
      expect(await handlesInUse(victim)).toBe(0);
    });

    it('keeps a job running through an agent SIGKILL; the restarted agent recovers it and scancel stops it', async () => {
      const target = nodes[1] as NodeRecord;
      const job = srun([
        `--nodelist=${target.name}`,
        `--container=${cluster.record.bundle}`,
        'sh',
        '-c',
        'echo started; sleep 300',
      ]);
      let before: ContainerEntry | undefined;
      await eventually(async () => {
        before = (await containersOf(target.name))[0];
        return classidOf(before) !== undefined;
      }, 30_000);
      const procs = (cgroup: string) =>
        readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
      const containerCgroups = cgroupsUnder(target.cgroupsRoot);
      expect(containerCgroups.length).toBeGreaterThan(0);

      await cluster.crashAgent(target.name);
      // The container's processes run on without their agent.
      const alive = containerCgroups.flatMap(procs).filter(isRunning);
      expect(alive.length).toBeGreaterThan(0);

      await cluster.startAgent(target.name);
      expect(await handlesInUse(target.name)).toBe(1);
      const after = (await containersOf(target.name))[0];
      expect(after?.container_id).toBe(before?.container_id);
      expect(classidOf(after)).toBe(classidOf(before));
      const jobId = runtimeIdOf(after)?.split('.')[2] as string;
      expect(jobField(jobId, 'JobState')).toBe('RUNNING');

      slurm('scancel', [jobId]);
      const result = await job.result;
      expect(result.stdout).toBe('started\n');
      expect(result.status).not.toBe(0);
      await eventually(async () => (await containersOf(target.name)).length === 0, 30_000);
      expect(await handlesInUse(target.name)).toBe(0);
      expect(alive.filter(isRunning)).toEqual([]);
      expect(cgroupsUnder(target.cgroupsRoot)).toEqual([]);
    });

    it('down removes every namespace, bridge, veth, cgroup, process, Slurm state dir and socket, even after crashes', async () => {
      const { record } = cluster;
      const namespaces = [record.switchNetns, ...record.nodes.map((node) => node.netns)];
      const inodes = new Set(namespaces.map((name) => netnsInode(name) as number));
      expect(inodes.size).toBe(namespaces.length);
      const daemons = Object.values(record.processes).map((tracked) => tracked.pid);
      // Parts crash first: slurmctld and munged die, one node's agent too.
      for (const role of ['slurmctld', 'munged', 'agent:node3']) {
        const pid = record.processes[role]?.pid as number;
        expect(isRunning(pid), role).toBe(true);
        process.kill(pid, 'SIGKILL');
      }

      const removed = await down(clusterDir);
      expect(removed).toContain(`netns ${record.switchNetns}`);
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(
        record.id,
      );
      expect(processesIn(inodes)).toEqual([]);
      expect(daemons.filter(isRunning)).toEqual([]);
      for (const node of record.nodes) expect(cgroupsUnder(node.cgroupsRoot)).toEqual([]);
      expect(
        readMounts()
          .filter((mount) => mount.type === 'cgroup' || mount.type === 'cgroup2')
          .filter((mount) =>
            record.nodes.some((node) => existsSync(join(mount.target, node.cgroupsRoot))),
          ),
      ).toEqual([]);
      // The bridge and the veths only ever existed in the cluster's namespaces.
      const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
      expect(links).not.toMatch(/veth-node|br0/);
      expect(readMounts().filter((mount) => mount.target.startsWith(clusterDir))).toEqual([]);
      // Slurm's state, spool and pid files, the sockets and the logs were all under it.
      expect(existsSync(clusterDir)).toBe(false);
      expect(await down(clusterDir)).toEqual([]);
    });
  },
);
