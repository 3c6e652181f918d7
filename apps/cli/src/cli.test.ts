import { describe, expect, it } from 'vitest';
import { runCli } from './cli.ts';
import type { FetchLike } from './client.ts';
import { COMMANDS } from './commands/index.ts';
import { START_AGENT_HINT } from './errors.ts';

interface Request {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
}

type Route = (request: Request) => Response | undefined;

/** A stand-in agent: each route answers the requests it recognises. */
function fakeAgent(...routes: Route[]) {
  const requests: Request[] = [];
  const fetch: FetchLike = async (url, init) => {
    const request = {
      method: init?.method ?? 'GET',
      path: url.replace('http://agent', ''),
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    requests.push(request);
    for (const route of routes) {
      const response = route(request);
      if (response) return response;
    }
    return new Response(`No endpoint at ${request.path}`, { status: 404 });
  };
  return { fetch, requests };
}

const callOf = (request: Request) => (request.body as { type?: string } | undefined)?.type;

async function corral(argv: string[], fetch?: FetchLike) {
  let stdout = '';
  let stderr = '';
  const status = await runCli({
    argv,
    env: { CORRAL_AGENT: 'http://agent' },
    out: {
      stdout: (chunk) => {
        stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      },
      stderr: (chunk) => {
        stderr += chunk;
      },
    },
    pollIntervalMs: 1,
    ...(fetch ? { fetch } : {}),
  });
  return { status, stdout, stderr };
}

describe('corral --help', () => {
  it.each(COMMANDS.map((command) => command.name))(
    '%s --help shows usage, options and an example',
    async (name) => {
      const { status, stdout, stderr } = await corral([name, '--help']);
      expect(status).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(new RegExp(`^Usage: corral ${name}`));
      expect(stdout).toContain('Global options:\n  --agent URL');
      expect(stdout).toMatch(/\nExamples?:\n {2}corral /);
    },
  );

  it('lists every command', async () => {
    const { status, stdout } = await corral(['--help']);
    expect(status).toBe(0);
    for (const command of COMMANDS) expect(stdout).toContain(`\n  ${command.name} `);
  });
});

describe('errors', () => {
  it('are one line on stderr with a non-zero status, never a stack trace', async () => {
    const usage = await corral(['kill']);
    expect([usage.status, usage.stdout]).toEqual([2, '']);
    expect(usage.stderr).toMatch(/^corral: corral kill needs a container ID[^\n]*\n$/);
    const { fetch } = fakeAgent(
      () => new Response('Internal error: see the agent log', { status: 500 }),
    );
    const server = await corral(['ps'], fetch);
    expect(server).toEqual({
      status: 1,
      stdout: '',
      stderr: 'corral: the agent refused the request (500): Internal error: see the agent log\n',
    });
    const broken: FetchLike = async () => {
      throw new RangeError('something unexpected\n    at somewhere (file.js:1:1)');
    };
    // A fetch that fails without a cause is a network failure as far as the CLI can tell.
    expect((await corral(['ps'], broken)).stderr).toBe(
      `corral: cannot reach the agent at http://agent (something unexpected at somewhere (file.js:1:1)): ${START_AGENT_HINT}\n`,
    );
  });
});

describe('commands against a fake agent', () => {
  it('launch: sends the command, IPC mode, /dev/shm size and environment; prints id and classid', async () => {
    const { fetch, requests } = fakeAgent(
      (r) => (callOf(r) === 'LAUNCH_CONTAINER' ? new Response(null, { status: 200 }) : undefined),
      (r) =>
        r.path.startsWith('/containers?')
          ? Response.json([
              { container_id: 'w', status: { cgroup_info: { net_cls: { classid: 1638401 } } } },
            ])
          : undefined,
    );
    const result = await corral(
      [
        'launch',
        '--id',
        'w',
        '--ipc-mode',
        'share-parent',
        '--shm-size',
        '64',
        '--env',
        'A=b=c',
        '--',
        'sleep',
        '9',
      ],
      fetch,
    );
    expect(result).toEqual({ status: 0, stdout: 'w\nclassid 0x00190001\n', stderr: '' });
    expect(requests[0]?.body).toEqual({
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: 'w' },
        command: {
          shell: false,
          value: 'sleep',
          arguments: ['sleep', '9'],
          environment: { variables: [{ name: 'A', value: 'b=c' }] },
        },
        container: { type: 'MESOS', linux_info: { ipc_mode: 'SHARE_PARENT', shm_size: 64 } },
      },
    });
    expect(requests[1]?.path).toBe('/containers?container_id=w');
  });

  it('launch: a UUID by default, --shell, JSON, 202 as an error, usage checks', async () => {
    const launched = (status: number) =>
      fakeAgent(
        (r) => (callOf(r) === 'LAUNCH_CONTAINER' ? new Response(null, { status }) : undefined),
        (r) => (r.path.startsWith('/containers?') ? Response.json([]) : undefined),
        (r) => (r.path === '/state' ? Response.json({ frameworks: [] }) : undefined),
      );
    const fresh = launched(200);
    const result = await corral(['launch', '--json', '--shell', 'echo hi'], fresh.fetch);
    const { id } = JSON.parse(result.stdout) as { id: string };
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(fresh.requests[0]?.body).toMatchObject({
      launch_container: {
        command: { shell: true, value: 'echo hi' },
        container: { type: 'MESOS' },
      },
    });
    const existing = await corral(['launch', '--id', 'w', '--', 'true'], launched(202).fetch);
    expect([existing.status, existing.stderr]).toEqual([
      1,
      "corral: a container 'w' already exists, so nothing was launched: choose another --id, or 'corral rm w' once it has terminated\n",
    ]);
    for (const [argv, message] of [
      [['launch'], "nothing to run: give the command after '--'"],
      [['launch', '--shell', 'x', '--', 'y'], 'give either --shell'],
      [
        ['launch', '--ipc-mode', 'host', '--', 'true'],
        "--ipc-mode 'host' must be private or share-parent",
      ],
      [
        ['launch', '--shm-size', '1.5', '--', 'true'],
        "--shm-size '1.5' must be a positive whole number of MB",
      ],
      [['launch', '--env', 'NOVALUE', '--', 'true'], "--env 'NOVALUE' must be NAME=VALUE"],
    ] as const) {
      const refused = await corral([...argv], launched(200).fetch);
      expect(refused.status, argv.join(' ')).toBe(2);
      expect(refused.stderr).toContain(message);
    }
  });

  it('wait: exits with the exit code, or 128 + the signal', async () => {
    const waiting = (wait_container: object) =>
      fakeAgent((r) =>
        callOf(r) === 'WAIT_CONTAINER'
          ? Response.json({ type: 'WAIT_CONTAINER', wait_container })
          : undefined,
      ).fetch;
    expect(
      await corral(['wait', 'c'], waiting({ exit_status: 768, state: 'TASK_FAILED' })),
    ).toEqual({
      status: 3,
      stdout: 'c exited with code 3 (TASK_FAILED)\n',
      stderr: '',
    });
    const killed = await corral(
      ['wait', 'c', '--json'],
      waiting({ exit_status: 9, state: 'TASK_KILLED' }),
    );
    expect(killed.status).toBe(137);
    expect(JSON.parse(killed.stdout)).toEqual({
      id: 'c',
      exit_status: 9,
      state: 'TASK_KILLED',
      signal: 9,
      signal_name: 'SIGKILL',
    });
    const lost = await corral(['wait', 'c'], waiting({ state: 'TASK_LOST', message: 'gone' }));
    expect([lost.status, lost.stdout]).toEqual([
      1,
      'c ended without an exit status (TASK_LOST: gone)\n',
    ]);
  });

  it('kill: sends the signal number; rm: explains a running container', async () => {
    const { fetch, requests } = fakeAgent(
      (r) => (callOf(r) === 'KILL_CONTAINER' ? new Response(null, { status: 200 }) : undefined),
      (r) =>
        callOf(r) === 'REMOVE_CONTAINER'
          ? new Response("Container 'c' has not terminated yet", { status: 409 })
          : undefined,
    );
    expect(await corral(['kill', 'c', '--signal', 'term'], fetch)).toEqual({
      status: 0,
      stdout: 'c: sent SIGTERM\n',
      stderr: '',
    });
    expect(requests[0]?.body).toEqual({
      type: 'KILL_CONTAINER',
      kill_container: { container_id: { value: 'c' }, signal: 15 },
    });
    expect((await corral(['kill', 'c', '--signal', 'NOPE'], fetch)).status).toBe(2);
    expect(await corral(['rm', 'c'], fetch)).toEqual({
      status: 1,
      stdout: '',
      stderr: "corral: container 'c' is still running: 'corral kill c' first, then 'corral rm c'\n",
    });
  });

  it('logs --follow: reads from the last offset until the container has stopped', async () => {
    const file = ['one\n', 'two\n', 'three\n'];
    let written = 1;
    let running = true;
    const { fetch, requests } = fakeAgent(
      (r) => {
        if (!r.path.startsWith('/containers/logs?')) return undefined;
        const offset = Number(new URLSearchParams(r.path.split('?')[1]).get('offset'));
        const content = file.slice(0, written).join('');
        // Each poll, the command writes one more line; after the last it exits.
        if (written < file.length) written += 1;
        else running = false;
        return new Response(content.slice(offset), {
          headers: { 'x-corral-log-size': String(content.length) },
        });
      },
      (r) =>
        r.path.startsWith('/containers?')
          ? Response.json(running ? [{ container_id: 'c' }] : [])
          : undefined,
    );
    expect(await corral(['logs', 'c', '--follow'], fetch)).toEqual({
      status: 0,
      stdout: 'one\ntwo\nthree\n',
      stderr: '',
    });
    const offsets = requests
      .filter((r) => r.path.startsWith('/containers/logs?'))
      .map((r) => new URLSearchParams(r.path.split('?')[1]).get('offset'));
    expect(offsets.slice(0, 3)).toEqual(['0', '4', '8']);
  });

  it('logs: reads a big file in several answers; --stderr; --json', async () => {
    const content = 'x'.repeat(10);
    const { fetch, requests } = fakeAgent((r) => {
      if (!r.path.startsWith('/containers/logs?')) return undefined;
      const offset = Number(new URLSearchParams(r.path.split('?')[1]).get('offset'));
      return new Response(content.slice(offset, offset + 4), {
        headers: { 'x-corral-log-size': String(content.length) },
      });
    });
    expect((await corral(['logs', 'c', '--stderr'], fetch)).stdout).toBe(content);
    expect(requests.map((r) => r.path)).toEqual([
      '/containers/logs?container_id=c&stream=stderr&offset=0',
      '/containers/logs?container_id=c&stream=stderr&offset=4',
      '/containers/logs?container_id=c&stream=stderr&offset=8',
    ]);
    const json = await corral(['logs', 'c', '--json'], fetch);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { id: 'c', stream: 'stdout', offset: 0, text: 'xxxx' },
      { id: 'c', stream: 'stdout', offset: 4, text: 'xxxx' },
      { id: 'c', stream: 'stdout', offset: 8, text: 'xx' },
    ]);
  });

  it('agent-info: isolators, containers and net_cls handles', async () => {
    const { fetch } = fakeAgent(
      (r) =>
        r.path === '/state'
          ? Response.json({
              version: '1.0.0',
              id: 'agent-1',
              hostname: 'h',
              start_time: 1000,
              flags: { isolation: 'cgroups/net_cls,posix/cpu', port: '5051' },
              frameworks: [
                {
                  executors: [{ tasks: [{ id: 'a', state: 'TASK_RUNNING', statuses: [] }] }],
                  completed_executors: [],
                },
              ],
            })
          : undefined,
      (r) =>
        r.path === '/metrics/snapshot'
          ? Response.json({
              'isolator/cgroups/net_cls/handles_in_use': 1,
              'isolator/cgroups/net_cls/handles_free': 65534,
            })
          : undefined,
    );
    const text = await corral(['agent-info'], fetch);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('version          1.0.0\n');
    expect(text.stdout).toContain('isolators        cgroups/net_cls, posix/cpu\n');
    expect(text.stdout).toContain('containers       1 running\n');
    expect(text.stdout).toContain('net_cls handles  1 in use, 65534 free\n');
    expect(text.stdout).toContain(
      'flags:\n  --isolation=cgroups/net_cls,posix/cpu\n  --port=5051\n',
    );
    const json = JSON.parse((await corral(['agent-info', '--json'], fetch)).stdout);
    expect(json).toMatchObject({
      url: 'http://agent',
      version: '1.0.0',
      isolators: ['cgroups/net_cls', 'posix/cpu'],
      containers: { TASK_RUNNING: 1 },
      net_cls_handles: { in_use: 1, free: 65534 },
    });
  });
});
