import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRunning, processTree } from '@corral/procfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  cgroupDirs,
  cleanUpAgents,
  eventually,
  makeBundle,
  ociConfig,
  runc,
  runtimeIdOf,
  spawnRunc,
  startAgent,
  type TestAgent,
  testUser,
} from './harness.ts';

const ALLOWED_USER = 'corral-runc-ok';
const REFUSED_USER = 'corral-runc-no';

describeOnKernel(
  'corral-runc against a real agent',
  { root: true, commands: ['crun', 'unshare', 'useradd'], cgroupSubsystems: ['net_cls'] },
  () => {
    let agent: TestAgent;
    let dir: string;
    let allowed: ReturnType<typeof testUser>;
    let refused: ReturnType<typeof testUser>;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'corral-runc-bundles-'));
      spawnSync('chmod', ['755', dir]);
      allowed = testUser(ALLOWED_USER);
      refused = testUser(REFUSED_USER);
      agent = await startAgent({ primaryHandle: '0x52', socketUsers: ALLOWED_USER });
    });

    afterAll(async () => {
      try {
        await cleanUpAgents();
      } finally {
        rmSync(dir, { recursive: true, force: true });
        allowed?.remove();
        refused?.remove();
      }
    });

    const bundle = (name: string, config: unknown) => makeBundle(dir, name, config);
    const sh = (script: string, extra: Record<string, unknown> = {}) =>
      ociConfig(['sh', '-c', script], extra);

    /** `crun run` of the same bundle, with what it needs on a hybrid-cgroup host. */
    function crun(path: string, id: string) {
      // crun refuses hybrid hosts whose cgroup2 mount has controllers: hide that mount in a
      // private mount namespace and let crun manage no cgroups at all.
      const hide = existsSync('/sys/fs/cgroup/unified')
        ? 'mount -t tmpfs none /sys/fs/cgroup/unified && '
        : '';
      const result = spawnSync(
        'unshare',
        [
          '-m',
          '--propagation',
          'private',
          'sh',
          '-c',
          `${hide}exec crun --cgroup-manager=disabled --root "$0" run --bundle "$1" "$2"`,
          join(dir, 'crun-state'),
          path,
          id,
        ],
        { encoding: 'utf8', timeout: 20_000 },
      );
      return { status: result.status, stdout: result.stdout };
    }

    it.each([
      ['exit-zero', sh('echo hello')],
      ['exit-code', sh('echo out; echo err >&2; exit 3')],
      [
        'cwd-and-env',
        sh('pwd; echo "$GREETING"', {}),
        { cwd: '/tmp', env: ['PATH=/bin:/usr/bin', 'GREETING=hi there'] },
      ],
      ['killed-by-signal', sh('echo before; kill -TERM $$; echo after')],
      ['args-verbatim', ociConfig(['printf', '%s|', 'a b', '$HOME', '*'])],
      [
        'ipc-namespace',
        sh('ipcmk -Q >/dev/null; ipcs -q | grep -c 0x', {
          linux: { namespaces: [{ type: 'ipc' }] },
        }),
      ],
    ])('matches crun on the %s bundle (stdout and exit code)', async (name, config, process?) => {
      const spec = process ? { ...config, process: { ...config.process, ...process } } : config;
      const path = bundle(`diff-${name}`, spec);
      const reference = crun(path, `crun-${name}`);
      const ours = await runc(agent.socket, ['run', '--bundle', path, `diff.${name}`]);
      expect({ status: ours.status, stdout: ours.stdout }).toEqual(reference);
    });

    it('runs a bundle to completion, then the container is gone as after runc run', async () => {
      const path = bundle('once', sh('echo out; echo err >&2; exit 3'));
      const result = await runc(agent.socket, ['run', '-b', path, 'node1.root.1.0.0']);
      expect(result).toEqual({ status: 3, stdout: 'out\n', stderr: 'err\n' });
      const state = await runc(agent.socket, ['state', 'node1.root.1.0.0']);
      expect(state.status).toBe(1);
      expect(state.stderr).toContain("container 'node1.root.1.0.0' does not exist");
      expect((await runc(agent.socket, ['delete', 'node1.root.1.0.0'])).stderr).toContain(
        'does not exist',
      );
    });

    it('keeps the OCI lifecycle rules while a container runs', async () => {
      const path = bundle(
        'long',
        sh("trap 'echo got-term; exit 7' TERM; echo started; sleep 60 & wait", {
          annotations: { team: 'hpc' },
        }),
      );
      const run = spawnRunc(agent.socket, ['run', '--bundle', path, 'node1.root.2.0.0']);
      await eventually(
        async () => (await runc(agent.socket, ['state', 'node1.root.2.0.0'])).status === 0,
      );
      const state = JSON.parse((await runc(agent.socket, ['state', 'node1.root.2.0.0'])).stdout);
      expect(state).toMatchObject({
        ociVersion: '1.0.2',
        id: 'node1.root.2.0.0',
        status: 'running',
        bundle: path,
        annotations: { team: 'hpc' },
      });
      expect(state.pid).toBeGreaterThan(0);

      const duplicate = await runc(agent.socket, ['run', '--bundle', path, 'node1.root.2.0.0']);
      expect(duplicate.status).toBe(1);
      expect(duplicate.stderr).toContain('already exists');

      const entry = (await agent.containers()).find(
        (container) => runtimeIdOf(container) === 'node1.root.2.0.0',
      );
      const classid = entry?.status?.cgroup_info?.net_cls?.classid ?? 0;
      expect(classid >>> 16).toBe(0x52); // a managed handle under the agent's primary

      const refusedDelete = await runc(agent.socket, ['delete', 'node1.root.2.0.0']);
      expect(refusedDelete.status).toBe(1);
      expect(refusedDelete.stderr).toContain('is running');

      expect((await runc(agent.socket, ['kill', 'node1.root.2.0.0', 'TERM'])).status).toBe(0);
      expect(await run.result).toMatchObject({ status: 7, stdout: 'started\ngot-term\n' });
      expect((await runc(agent.socket, ['state', 'node1.root.2.0.0'])).status).toBe(1);
    });

    it('errors on state and kill of an unknown id', async () => {
      for (const args of [
        ['state', 'nope.1'],
        ['kill', 'nope.1', 'KILL'],
        ['delete', '--force', 'nope.1'],
      ]) {
        const result = await runc(agent.socket, args);
        expect(result.status).toBe(1);
        expect(result.stderr).toBe("corral-runc: container 'nope.1' does not exist\n");
      }
    });

    it.each([
      ['KILL', 137],
      ['TERM', 143],
    ])('kill --all %s leaves no process', async (signal, code) => {
      const id = `all.${signal}`;
      const path = bundle(`all-${signal}`, sh('sleep 60 & sleep 60 & sleep 60; wait'));
      const run = spawnRunc(agent.socket, ['run', '--bundle', path, id]);
      let pids: number[] = [];
      await eventually(async () => {
        const state = await runc(agent.socket, ['state', id]);
        if (state.status !== 0) return false;
        pids = processTree(JSON.parse(state.stdout).pid).map((p) => p.pid);
        return pids.length >= 5; // init, sh, three sleeps
      });
      expect((await runc(agent.socket, ['kill', '--all', id, signal])).status).toBe(0);
      expect((await run.result).status).toBe(code);
      for (const pid of pids) expect(isRunning(pid)).toBe(false);
    });

    it('forwards SIGTERM and SIGINT sent to corral-runc run to the container', async () => {
      const path = bundle(
        'forward',
        sh("trap 'exit 9' INT; trap 'exit 8' TERM; echo ready; sleep 60 & wait"),
      );
      for (const [signal, code] of [
        ['SIGTERM', 8],
        ['SIGINT', 9],
      ] as const) {
        const run = spawnRunc(agent.socket, ['run', '--bundle', path, `forward.${signal}`]);
        await eventually(
          async () => (await runc(agent.socket, ['state', `forward.${signal}`])).status === 0,
        );
        await eventually(() => readFileSync(`/proc/${run.pid}/status`, 'utf8').includes('State'));
        // Wait for the shell's traps: its first line means they are set.
        await new Promise((resolve) => setTimeout(resolve, 200));
        run.kill(signal);
        expect((await run.result).status).toBe(code);
      }
    });

    it('refuses what it cannot honour with one line naming the field, leaving nothing', async () => {
      const before = (await agent.containers()).length;
      const hooks = bundle('hooks', sh('true', { hooks: { prestart: [{ path: '/bin/true' }] } }));
      const log = join(dir, 'runc.log');
      const refused = await runc(agent.socket, [
        '--log',
        log,
        '--log-format',
        'json',
        'run',
        '-b',
        hooks,
        'h.1',
      ]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toBe(
        "corral-runc: config.json: 'hooks' is not supported: Corral runs no OCI hooks\n",
      );
      expect(JSON.parse(readFileSync(log, 'utf8'))).toMatchObject({
        level: 'error',
        msg: expect.stringContaining("'hooks'"),
      });

      // A memory limit is an ordinary launch field: the agent without cgroups/mem refuses it
      // exactly as it refuses LAUNCH_CONTAINER.limits.mem.
      const memory = bundle(
        'memory',
        sh('true', { linux: { resources: { memory: { limit: 64 * 1024 * 1024 } } } }),
      );
      const limited = await runc(agent.socket, ['run', '-b', memory, 'm.1']);
      expect(limited.status).toBe(1);
      expect(limited.stderr).toMatch(
        /Refusing to launch: 'limits.mem' needs the 'cgroups\/mem' isolator/,
      );

      const otherRoot = bundle('other-root', { ...sh('true'), root: { path: '/tmp' } });
      expect((await runc(agent.socket, ['run', '-b', otherRoot, 'r.1'])).stderr).toContain(
        "'root.path'",
      );
      expect(await agent.containers()).toHaveLength(before);
    });

    it("runs a non-root caller's container as that caller, whatever the bundle says", async () => {
      const path = bundle('whoami', sh('id -u; id -g'));
      const result = await runc(agent.socket, ['run', '-b', path, 'node1.ok.3.0.0'], allowed);
      expect(result).toMatchObject({ status: 0, stdout: `${allowed.uid}\n${allowed.gid}\n` });
    });

    it('refuses a caller the operator did not allow on the socket', async () => {
      const path = bundle('refused', sh('id -u'));
      const result = await runc(agent.socket, ['run', '-b', path, 'node1.no.4.0.0'], refused);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        `user '${REFUSED_USER}' (uid ${refused.uid}) may not use this runtime socket: it admits root and ${ALLOWED_USER}`,
      );
    });

    it('finds its containers again after an agent crash: the run waits, state answers, delete cleans up', async () => {
      const path = bundle('survivor', sh('sleep 60'));
      const run = spawnRunc(agent.socket, ['run', '--bundle', path, 'survivor.1']);
      await eventually(
        async () => (await runc(agent.socket, ['state', 'survivor.1'])).status === 0,
      );
      const before = JSON.parse((await runc(agent.socket, ['state', 'survivor.1'])).stdout);
      const containerId = (await agent.containers()).find(
        (entry) => runtimeIdOf(entry) === 'survivor.1',
      )?.container_id as string;
      await agent.crash();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(run.exitCode).toBe(null);
      await agent.restart();
      const after = JSON.parse((await runc(agent.socket, ['state', 'survivor.1'])).stdout);
      expect(after).toMatchObject({ status: 'running', pid: before.pid });
      expect((await runc(agent.socket, ['delete', '--force', 'survivor.1'])).status).toBe(0);
      expect(isRunning(before.pid)).toBe(false);
      // The run attached again and reports the kill.
      expect((await run.result).status).toBe(128 + 9);
      expect((await runc(agent.socket, ['state', 'survivor.1'])).status).toBe(1);
      for (const root of cgroupDirs(agent.cgroupsRoot)) {
        expect(existsSync(join(root, containerId))).toBe(false);
      }
    });

    it('goes on through an agent restart: output from where it stopped, then the exit code', async () => {
      const go = join(dir, 'go');
      const path = bundle(
        'reattach',
        sh(
          `echo before; while [ ! -e ${go} ]; do sleep 0.05; done; echo after >&2; echo after; exit 7`,
        ),
      );
      const run = spawnRunc(agent.socket, ['run', '--bundle', path, 'reattach.1']);
      // The client has 'before' when the agent dies: attaching again must not repeat it.
      let seen = '';
      run.stdout?.on('data', (chunk: string) => {
        seen += chunk;
      });
      await eventually(() => seen.includes('before'));
      await agent.crash();
      await agent.restart();
      writeFileSync(go, '');
      const result = await run.result;
      expect(result).toMatchObject({ status: 7, stdout: 'before\nafter\n', stderr: 'after\n' });
      await eventually(async () => (await agent.containers()).length === 0);
    });
  },
);
