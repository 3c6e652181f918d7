import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RUNC_BIN } from './harness.ts';

/** A port the kernel just handed out on loopback, so parallel runs do not collide. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface SlurmCluster {
  /** The environment srun, squeue and scancel need (SLURM_CONF). */
  readonly env: NodeJS.ProcessEnv;
  readonly node: string;
  /** Stops slurmd, slurmctld and munged (started by `startSlurm`), cancelling jobs first. */
  stop(): Promise<void>;
}

/**
 * A single-node Slurm 22.05 under `dir`: munged on a private socket, slurmctld and slurmd in the
 * foreground on free loopback ports, every file under `dir`, and an oci.conf whose four
 * commands are corral-runc against `agentSocket`, run by the same Node as this test.
 */
export async function startSlurm(dir: string, agentSocket: string): Promise<SlurmCluster> {
  const node = hostname().split('.')[0] as string;
  const etc = join(dir, 'etc');
  const munge = join(dir, 'munge');
  for (const path of [etc, join(dir, 'state'), join(dir, 'spool')])
    mkdirSync(path, { recursive: true });
  // munged checks that its files are not writable by others and that the socket dir is usable.
  mkdirSync(munge, { mode: 0o755 });
  chmodSync(munge, 0o755);
  const mungeUser = Number(execFileSync('id', ['-u', 'munge'], { encoding: 'utf8' }));
  const mungeGroup = Number(execFileSync('id', ['-g', 'munge'], { encoding: 'utf8' }));
  chownSync(munge, mungeUser, mungeGroup);
  const mungeSocket = join(munge, 'munge.sock');
  execFileSync('runuser', [
    '-u',
    'munge',
    '--',
    'munged',
    `--socket=${mungeSocket}`,
    `--pid-file=${join(munge, 'munged.pid')}`,
    `--log-file=${join(munge, 'munged.log')}`,
    `--seed-file=${join(munge, 'seed')}`,
  ]);
  const mungePid = Number(readFileSync(join(munge, 'munged.pid'), 'utf8'));

  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = join(etc, 'slurm.conf');
  writeFileSync(
    conf,
    [
      `ClusterName=corral${process.pid}`,
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${mungeSocket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      // Slurm's own cgroups would fight Corral's: track processes by /proc, bind no tasks.
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'SelectType=select/cons_tres',
      'MpiDefault=none',
      'ReturnToService=2',
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN`,
      `PartitionName=corral Nodes=${node} Default=YES MaxTime=10 State=UP`,
      '',
    ].join('\n'),
  );
  // Slurm runs these as the job's user: the Node binary, the bin and the socket must be theirs
  // to use (they are world-readable here; the agent decides by peer credentials).
  const runc = `${process.execPath} ${RUNC_BIN} --agent ${agentSocket}`;
  const id = '%n.%u.%j.%s.%t';
  writeFileSync(
    join(etc, 'oci.conf'),
    [
      `RunTimeQuery="${runc} state ${id}"`,
      `RunTimeKill="${runc} kill --all ${id}"`,
      `RunTimeDelete="${runc} delete --force ${id}"`,
      `RunTimeRun="${runc} run --bundle %b ${id}"`,
      '',
    ].join('\n'),
  );

  const daemons: ChildProcess[] = [
    spawn('slurmctld', ['-D', '-f', conf], { stdio: 'ignore' }),
    spawn('slurmd', ['-D', '-f', conf, '-N', node], { stdio: 'ignore' }),
  ];
  const env = { ...process.env, SLURM_CONF: conf };
  const cluster: SlurmCluster = {
    env,
    node,
    async stop() {
      // Jobs first, while slurmd still runs their RunTimeKill; a step left behind would outlive
      // the daemons (slurmstepd is not their child).
      spawnSync('scancel', ['--full', '--partition=corral'], { env, timeout: 10_000 });
      const drained = Date.now() + 20_000;
      while (
        spawnSync('squeue', ['-h'], { env, encoding: 'utf8', timeout: 10_000 }).stdout.trim() !==
          '' &&
        Date.now() < drained
      ) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      for (const daemon of daemons) {
        if (daemon.exitCode === null && daemon.signalCode === null) {
          const exited = once(daemon, 'exit');
          daemon.kill('SIGTERM');
          const timer = setTimeout(() => daemon.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
      }
      try {
        process.kill(mungePid, 'SIGTERM');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
  };
  // Bounded wait for the node to register as idle.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = spawnSync('sinfo', ['-h', '-N', '-o', '%T'], { env, encoding: 'utf8' });
    if (state.stdout.trim() === 'idle') return cluster;
    if (Date.now() > deadline) {
      await cluster.stop();
      throw new Error(`slurmd did not become idle (sinfo: ${state.stdout}${state.stderr})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
