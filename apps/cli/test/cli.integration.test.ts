import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { COMMANDS } from '../src/commands/index.ts';
import { START_AGENT_HINT } from '../src/errors.ts';
import { cleanUpAgents, corral, spawnCorral, startAgent, type TestAgent } from './harness.ts';

afterEach(cleanUpAgents);

/** `corral …` against `agent`; stdout, stderr and the exit status. */
const run = (agent: TestAgent, ...args: string[]) => corral(agent.url, args);

/**
 * Launches and returns the classid it printed: a container that is still running has one (one
 * that is done before the CLI asks may have none).
 */
async function launched(agent: TestAgent, ...args: string[]): Promise<string | undefined> {
  const result = await run(agent, 'launch', ...args);
  expect([result.status, result.stderr]).toEqual([0, '']);
  return /^classid (0x0019[0-9a-f]{4})$/m.exec(result.stdout)?.[1];
}

interface PsRow {
  id: string;
  state: string;
  pid: number | null;
  classid: string | null;
  started_at: number | null;
  cpu_secs: number | null;
  mem_rss_bytes: number | null;
}

async function psJson(agent: TestAgent): Promise<PsRow[]> {
  const result = await run(agent, 'ps', '--json');
  expect([result.status, result.stderr]).toEqual([0, '']);
  return JSON.parse(result.stdout) as PsRow[];
}

/** Exactly one line on stderr. */
function oneLine(stderr: string): string {
  expect(stderr.endsWith('\n') && stderr.indexOf('\n') === stderr.length - 1, stderr).toBe(true);
  return stderr.trimEnd();
}

describeOnKernel(
  'corral against a real agent',
  { root: true, cgroupSubsystems: ['net_cls'], namespaces: ['ipc', 'mnt'] },
  () => {
    it('launch prints the id and the classid the kernel has; ps shows it as text and JSON', async () => {
      const agent = await startAgent();
      const result = await run(agent, 'launch', '--id', 'web', '--', 'sleep', '300');
      expect(result).toMatchObject({ status: 0, stderr: '' });
      const [, classid] = /^web\nclassid (0x0019[0-9a-f]{4})\n$/.exec(result.stdout) ?? [];
      const file = join(
        findV1Hierarchy('net_cls') ?? '',
        agent.cgroupsRoot,
        'web',
        'net_cls.classid',
      );
      expect(Number(readFileSync(file, 'utf8'))).toBe(Number(classid));

      const anonymous = await run(agent, 'launch', '--json', '--', 'sleep', '300');
      const { id: uuid, classid: otherClassid } = JSON.parse(anonymous.stdout) as {
        id: string;
        classid: string;
      };
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(otherClassid).toMatch(/^0x0019[0-9a-f]{4}$/);
      expect(otherClassid).not.toBe(classid);

      const ps = await run(agent, 'ps');
      expect([ps.status, ps.stderr]).toEqual([0, '']);
      const [header, ...lines] = ps.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^ID +STATE +PID +CLASSID +AGE +CPU\(s\) +RSS$/);
      const row = lines.find((line) => line.startsWith('web '));
      const fields = row?.split(/ +/) ?? [];
      expect(fields.slice(0, 2)).toEqual(['web', 'running']);
      expect(fields[3]).toBe(classid);
      expect(fields[4]).toMatch(/^\d+s$/);
      expect(fields[5]).toMatch(/^\d+\.\d\d$/);
      expect(`${fields[6]} ${fields[7]}`).toMatch(/^[\d.]+ (B|KiB|MiB)$/);
      // Aligned: each column starts where its header does.
      expect(row?.indexOf(classid ?? '?')).toBe(header?.indexOf('CLASSID'));
      expect(lines.map((line) => line.split(/ +/)[0]).sort()).toEqual([uuid, 'web'].sort());

      const json = await psJson(agent);
      const web = json.find((entry) => entry.id === 'web');
      expect(web).toMatchObject({ state: 'TASK_RUNNING', classid, pid: Number(fields[2]) });
      expect(existsSync(`/proc/${web?.pid}`)).toBe(true);
      expect(web?.mem_rss_bytes).toBeGreaterThan(0);
      expect(web?.cpu_secs).toBeGreaterThanOrEqual(0);
      expect(Date.now() / 1000 - (web?.started_at ?? 0)).toBeLessThan(60);
    });

    it("wait exits with the container's exit code, or 128 + the signal that killed it", async () => {
      const agent = await startAgent();
      await launched(agent, '--id', 'three', '--shell', 'exit 3');
      const three = await run(agent, 'wait', 'three');
      expect(three).toEqual({
        status: 3,
        stdout: expect.stringMatching(/^three exited with code 3 \(TASK_FAILED/),
        stderr: '',
      });
      // The termination stays until rm: waiting again answers the same.
      expect((await run(agent, 'wait', 'three', '--json')).status).toBe(3);

      await launched(agent, '--id', 'zero', '--', 'true');
      expect((await run(agent, 'wait', 'zero')).status).toBe(0);

      for (const [id, signal, expected, name] of [
        ['killed', undefined, 137, 'SIGKILL'],
        ['termed', 'TERM', 143, 'SIGTERM'],
        ['usr1', '10', 138, 'SIGUSR1'],
      ] as const) {
        await launched(agent, '--id', id, '--', 'sleep', '300');
        const kill = await run(agent, 'kill', id, ...(signal ? ['--signal', signal] : []));
        expect(kill).toEqual({ status: 0, stdout: `${id}: sent ${name}\n`, stderr: '' });
        const wait = await run(agent, 'wait', id, '--json');
        expect(wait.status, id).toBe(expected);
        expect(JSON.parse(wait.stdout)).toMatchObject({ id, signal_name: name });
      }
    });

    it('logs prints stdout or stderr, and --follow picks up new lines until the container exits', async () => {
      const agent = await startAgent();
      await launched(
        agent,
        '--id',
        'talker',
        '--env',
        'GREETING=hello there',
        '--shell',
        'echo out; echo err >&2; echo "$GREETING"',
      );
      expect((await run(agent, 'wait', 'talker')).status).toBe(0);
      expect(await run(agent, 'logs', 'talker')).toEqual({
        status: 0,
        stdout: 'out\nhello there\n',
        stderr: '',
      });
      expect((await run(agent, 'logs', 'talker', '--stderr')).stdout).toBe('err\n');
      expect(JSON.parse((await run(agent, 'logs', 'talker', '--json')).stdout)).toEqual({
        id: 'talker',
        stream: 'stdout',
        offset: 0,
        text: 'out\nhello there\n',
      });

      // Writes "one", then waits for a file the test creates once --follow has shown "one".
      await launched(
        agent,
        '--id',
        'follower',
        '--shell',
        'echo one; while [ ! -e go ]; do sleep 0.05; done; echo two; echo three',
      );
      const follow = spawnCorral(agent.url, ['logs', 'follower', '--follow']);
      for (let tries = 0; follow.output() !== 'one\n'; tries++) {
        expect(tries, `--follow printed ${JSON.stringify(follow.output())}`).toBeLessThan(200);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(follow.exitCode).toBeNull();
      writeFileSync(join(agent.workDir, 'containers', 'follower', 'go'), '');
      expect(await follow.result).toEqual({ status: 0, stdout: 'one\ntwo\nthree\n', stderr: '' });

      // A bad id gets the agent's 400 message; a removed container is unknown.
      const bad = await run(agent, 'logs', 'a b');
      expect(bad.status).toBe(1);
      expect(oneLine(bad.stderr)).toBe(
        `corral: the agent refused the request (400): 'container_id' is invalid: ContainerID value "a b" contains invalid characters: '/', '\\', '.', space and control characters are not allowed`,
      );
      expect((await run(agent, 'rm', 'talker')).status).toBe(0);
      const removed = await run(agent, 'logs', 'talker');
      expect(removed.status).toBe(1);
      expect(oneLine(removed.stderr)).toMatch(
        /^corral: no container 'talker' on the agent at http:/,
      );
    });

    it('rm refuses a running container and removes a terminated one with its sandbox', async () => {
      const agent = await startAgent();
      await launched(agent, '--id', 'r', '--', 'sleep', '300');
      const refused = await run(agent, 'rm', 'r');
      expect(refused.status).toBe(1);
      expect(oneLine(refused.stderr)).toBe(
        "corral: container 'r' is still running: 'corral kill r' first, then 'corral rm r'",
      );
      expect((await run(agent, 'kill', 'r')).status).toBe(0);
      expect((await run(agent, 'wait', 'r')).status).toBe(137);
      expect((await psJson(agent)).find((row) => row.id === 'r')?.state).toBe('TASK_KILLED');
      expect(await run(agent, 'rm', 'r')).toEqual({
        status: 0,
        stdout: 'r: removed\n',
        stderr: '',
      });
      expect(existsSync(join(agent.workDir, 'containers', 'r'))).toBe(false);
      expect((await psJson(agent)).map((row) => row.id)).toEqual([]);
      for (const command of ['wait', 'rm', 'kill']) {
        const gone = await run(agent, command, 'r');
        expect(gone.status, command).toBe(1);
        expect(oneLine(gone.stderr)).toMatch(/^corral: no container 'r' on the agent at http:/);
      }
    });

    it("reports a bad id with the agent's 400 message, in one line", async () => {
      const agent = await startAgent();
      const rule = `ContainerID value "a b" contains invalid characters: '/', '\\', '.', space and control characters are not allowed`;
      const kill = await run(agent, 'kill', 'a b');
      expect(kill.status).toBe(1);
      expect(oneLine(kill.stderr)).toBe(
        `corral: the agent refused the request (400): Failed to validate agent::Call: 'kill_container.container_id' is invalid: ${rule}`,
      );
      const launch = await run(agent, 'launch', '--id', 'a b', '--', 'true');
      expect(oneLine(launch.stderr)).toContain(
        `'launch_container.container_id' is invalid: ${rule}`,
      );
      const dots = await run(agent, 'wait', '..');
      expect(oneLine(dots.stderr)).toMatch(/400.*'\.\.' is disallowed/);
      expect((await psJson(agent)).length).toBe(0);
    });

    it('names the URL and how to start an agent when none answers', async () => {
      const agent = await startAgent();
      await agent.stop();
      for (const command of [['ps'], ['launch', '--', 'true'], ['wait', 'x'], ['agent-info']]) {
        const result = await run(agent, ...command);
        expect(result.status, command.join(' ')).toBe(1);
        expect(result.stdout).toBe('');
        expect(oneLine(result.stderr)).toBe(
          `corral: cannot reach the agent at ${agent.url} (ECONNREFUSED): ${START_AGENT_HINT}`,
        );
      }
      expect(START_AGENT_HINT).toContain('npx -y pnpm@12.21.0 start');
    });

    it('authenticates with --principal/--secret or CORRAL_PRINCIPAL/CORRAL_SECRET; 401 otherwise', async () => {
      const agent = await startAgent({ credentials: { principal: 'ops', secret: 's3cret' } });
      const anonymous = await run(agent, 'ps');
      expect(anonymous.status).toBe(1);
      expect(oneLine(anonymous.stderr)).toBe(
        `corral: the agent at ${agent.url} requires authentication (401): pass --principal and --secret (or set CORRAL_PRINCIPAL and CORRAL_SECRET) from its --http_credentials file`,
      );
      const wrong = await run(
        agent,
        'launch',
        '--principal',
        'ops',
        '--secret',
        'nope',
        '--',
        'true',
      );
      expect(wrong.status).toBe(1);
      expect(oneLine(wrong.stderr)).toMatch(/rejected the credentials of principal 'ops' \(401\)/);
      expect((await agent.request('/containers').then((r) => r.json())) as unknown[]).toEqual([]);

      const flags = ['--principal', 'ops', '--secret', 's3cret'];
      expect(
        (await run(agent, 'launch', '--id', 'authed', ...flags, '--', 'sleep', '300')).status,
      ).toBe(0);
      const env = { CORRAL_PRINCIPAL: 'ops', CORRAL_SECRET: 's3cret' };
      const ps = await corral(agent.url, ['ps', '--json'], env);
      expect((JSON.parse(ps.stdout) as PsRow[]).map((row) => row.id)).toEqual(['authed']);
      expect((await corral(agent.url, ['kill', 'authed'], env)).status).toBe(0);
      expect((await corral(agent.url, ['wait', 'authed'], env)).status).toBe(137);
    });

    it('agent-info shows version, isolators and handles; state is the raw /state', async () => {
      const agent = await startAgent();
      const classid = await launched(agent, '--id', 'one', '--', 'sleep', '300');
      expect(classid).toBeDefined();
      const info = await run(agent, 'agent-info');
      expect([info.status, info.stderr]).toEqual([0, '']);
      expect(info.stdout).toContain(`agent            ${agent.url}\n`);
      expect(info.stdout).toMatch(/\nversion +\d+\.\d+\.\d+/);
      expect(info.stdout).toContain(
        '\nisolators        cgroups/net_cls, namespaces/ipc, posix/cpu, posix/mem\n',
      );
      expect(info.stdout).toContain('\ncontainers       1 running\n');
      expect(info.stdout).toMatch(/\nnet_cls handles {2}1 in use, \d+ free\n/);
      expect(info.stdout).toContain(`\n  --cgroups_root=${agent.cgroupsRoot}\n`);
      const json = JSON.parse((await run(agent, 'agent-info', '--json')).stdout);
      expect(json).toMatchObject({
        url: agent.url,
        isolators: ['cgroups/net_cls', 'namespaces/ipc', 'posix/cpu', 'posix/mem'],
        net_cls_handles: { in_use: 1 },
      });

      const state = await run(agent, 'state');
      expect(state.stdout).toBe(`${await (await agent.request('/state')).text()}\n`);
      expect(state.stdout).toContain(`"classid":${Number(classid)}`);
      expect(JSON.parse((await run(agent, 'state', '--json')).stdout).frameworks).toHaveLength(1);
    });

    it('passes --ipc-mode, --shm-size and --env to the container', async () => {
      const agent = await startAgent();
      const hostIpc = readlinkSync('/proc/self/ns/ipc');
      await launched(
        agent,
        '--id',
        'private',
        '--shm-size',
        '8',
        '--shell',
        'readlink /proc/self/ns/ipc; df -k /dev/shm | tail -1',
      );
      await launched(
        agent,
        '--id',
        'shared',
        '--ipc-mode',
        'share-parent',
        '--env',
        'A=1',
        '--env',
        'B=x=y',
        '--shell',
        'readlink /proc/self/ns/ipc; echo "$A $B"',
      );
      for (const id of ['private', 'shared']) expect((await run(agent, 'wait', id)).status).toBe(0);
      // Read from the sandboxes, so this test does not depend on `corral logs`.
      const stdout = (id: string) =>
        readFileSync(join(agent.workDir, 'containers', id, 'stdout'), 'utf8');
      const [privateNs, shm] = stdout('private').split('\n');
      expect(privateNs).toMatch(/^ipc:\[\d+\]$/);
      expect(privateNs).not.toBe(hostIpc);
      expect(shm?.split(/ +/)[1]).toBe('8192');
      expect(stdout('shared')).toBe(`${hostIpc}\n1 x=y\n`);
    });
  },
);

it.each(COMMANDS.map((command) => command.name))(
  'the built corral %s --help shows its usage and an example',
  async (name) => {
    const result = await corral('http://127.0.0.1:9', [name, '--help']);
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(
      new RegExp(`^Usage: corral ${name}[^\\n]*\\n[\\s\\S]*\\nExamples?:\\n  corral `),
    );
  },
);
