import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning } from '@corral/procfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type ContainerEntry,
  cgroupDirs,
  cleanUpAgents,
  eventually,
  makeBundle,
  ociConfig,
  runtimeIdOf,
  spawnCaptured,
  startAgent,
  type TestAgent,
  testUser,
} from './harness.ts';
import { type SlurmCluster, startSlurm } from './slurm.ts';

const JOB_USER = 'corral-slurm-job';

describeOnKernel(
  'Slurm srun --container through corral-runc',
  {
    root: true,
    commands: ['slurmctld', 'slurmd', 'srun', 'munged', 'runuser', 'useradd'],
    cgroupSubsystems: ['net_cls'],
  },
  () => {
    let dir: string;
    let agent: TestAgent;
    let slurm: SlurmCluster | undefined;
    let user: ReturnType<typeof testUser>;
    let bundle: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'corral-slurm-'));
      chmodSync(dir, 0o755);
      user = testUser(JOB_USER);
      agent = await startAgent({ primaryHandle: '0x53', socketUsers: JOB_USER });
      slurm = await startSlurm(dir, agent.socket);
      // The job's bundle: the user's own; Slurm writes its config.json (args, env) into its
      // spool and points root.path at <bundle>/rootfs, which links to the host root.
      bundle = makeBundle(dir, 'bundle', ociConfig(['true']));
    }, 60_000);

    afterAll(async () => {
      try {
        await slurm?.stop();
        await cleanUpAgents();
      } finally {
        rmSync(dir, { recursive: true, force: true });
        user?.remove();
      }
    }, 60_000);

    /** `srun --container=<bundle> ARGS…` as the job user. */
    function srun(args: readonly string[]) {
      return spawnCaptured('srun', ['--container', bundle, '--time=1', ...args], {
        env: slurm?.env,
        cwd: dir,
        uid: user.uid,
        gid: user.gid,
        timeout: 60_000,
      });
    }

    it("returns the command's output and exit code, run as the job's user", async () => {
      const result = await srun(['sh', '-c', 'echo from-slurm; id -u; exit 3']).result;
      expect(result.stdout).toBe(`from-slurm\n${user.uid}\n`);
      expect(result.status).toBe(3);
    });

    it('shows the running job in /containers with a classid; scancel reaches RunTimeKill', async () => {
      const job = srun(['sh', '-c', 'echo running; sleep 60']);
      let entry: ContainerEntry | undefined;
      await eventually(async () => {
        entry = (await agent.containers()).find((container) =>
          runtimeIdOf(container)?.includes(`.${JOB_USER}.`),
        );
        // Its classid shows once the container is isolated (it may be seen while starting).
        return entry?.status?.cgroup_info?.net_cls?.classid !== undefined;
      }, 20_000);
      const runtimeId = runtimeIdOf(entry);
      expect(runtimeId).toMatch(new RegExp(`^${slurm?.node}\\.${JOB_USER}\\.\\d+\\.0\\.0$`));
      expect((entry?.status?.cgroup_info?.net_cls?.classid ?? 0) >>> 16).toBe(0x53);

      const jobId = runtimeId?.split('.')[2] as string;
      spawnSync('scancel', [jobId], { env: slurm?.env, timeout: 10_000 });
      const result = await job.result;
      expect(result.status).not.toBe(0);
      await eventually(async () => (await agent.containers()).length === 0, 20_000);
      await eventually(
        () =>
          spawnSync('squeue', ['-h'], { env: slurm?.env, encoding: 'utf8' }).stdout.trim() === '',
        20_000,
      );
      // No process of the job user is left (zombies are dead; pid 1 reaps them when it gets to it).
      const pids = spawnSync('pgrep', ['-u', String(user.uid)], { encoding: 'utf8' }).stdout;
      expect(pids.split('\n').filter(Boolean).map(Number).filter(isRunning)).toEqual([]);
      const leftovers = cgroupDirs(agent.cgroupsRoot).flatMap((root) =>
        spawnSync('find', [root, '-mindepth', '1', '-type', 'd'], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter(Boolean),
      );
      expect(leftovers).toEqual([]);
    });
  },
);
