import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  cancelAllJobs,
  type SlurmCommand,
  startMunged,
  waitForNodeStates,
  writeSlurmConfig,
} from '@corral/test-support/slurm';
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
  mkdirSync(join(dir, 'state'), { recursive: true });
  const munged = startMunged(join(dir, 'munge'));
  // Slurm runs corral-runc as the job's user: the Node binary, the bin and the socket must be
  // theirs to use (they are world-readable here; the agent decides by peer credentials).
  const conf = writeSlurmConfig(
    join(dir, 'etc'),
    {
      clusterName: `corral${process.pid}`,
      controller: { name: node, address: '127.0.0.1' },
      ctldPort: await freePort(),
      slurmdPort: await freePort(),
      dir,
      mungeSocket: munged.socket,
      nodes: [{ name: node, address: '127.0.0.1', cpus: 2 }],
    },
    `${process.execPath} ${RUNC_BIN} --agent ${agentSocket}`,
  );

  const daemons: ChildProcess[] = [
    spawn('slurmctld', ['-D', '-f', conf], { stdio: 'ignore' }),
    spawn('slurmd', ['-D', '-f', conf, '-N', node], { stdio: 'ignore' }),
  ];
  const env = { ...process.env, SLURM_CONF: conf };
  const slurm: SlurmCommand = (command, args) =>
    spawnSync(command, args, { env, encoding: 'utf8', timeout: 10_000 });
  const cluster: SlurmCluster = {
    env,
    node,
    async stop() {
      await cancelAllJobs(slurm, 20_000);
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
        process.kill(munged.pid, 'SIGTERM');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
  };
  try {
    await waitForNodeStates(slurm, 'idle', 30_000);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
