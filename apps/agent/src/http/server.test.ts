import type { ContainerID, ContainerTermination } from '@corral/core';
import { InvalidContainerConfigError } from '@corral/core';
import { afterEach, describe, expect, it } from 'vitest';
import { LogUnavailableError } from '../containers/logs.ts';
import type { LaunchCall } from '../containers/registry.ts';
import type { AgentApi } from './agent-api.ts';
import { buildServer } from './server.ts';

/** An AgentApi whose answers the tests control, recording what it was asked. */
function stubAgent(overrides: Partial<AgentApi> = {}) {
  const launched: LaunchCall[] = [];
  const killed: { id: ContainerID; signal: number }[] = [];
  const agent: AgentApi = {
    isRecovered: () => true,
    version: () => ({ version: '1.2.3' }),
    flags: () => ({ isolation: 'posix/cpu', port: '5051' }),
    state: () => ({ frameworks: [] }),
    getState: () => ({ get_tasks: {} }),
    containers: async () => [{ container_id: 'c1' }],
    getContainers: async () => [{ container_id: { value: 'c1' } }],
    metricsSnapshot: () => ({ 'containerizer/launches': 3 }),
    prometheus: async () => 'corral_container_launches_total 3\n',
    launch: async (call) => {
      launched.push(call);
      return call.container_id.value === 'known' ? 'already_launched' : 'launched';
    },
    wait: (id) =>
      id.value === 'c1'
        ? Promise.resolve<ContainerTermination>({ status: 768, state: 'TASK_FAILED' })
        : undefined,
    kill: (id, signal) => {
      killed.push({ id, signal });
      return id.value === 'c1' ? 'signalled' : 'unknown';
    },
    remove: async (id) =>
      id.value === 'c1' ? 'removed' : id.value === 'busy' ? 'running' : 'unknown',
    readLog: (id, stream, offset) => {
      if (id.value !== 'c1') return undefined;
      const text = Buffer.from(stream === 'stdout' ? 'hello\nworld\n' : 'oops\n');
      return Promise.resolve({ data: text.subarray(offset), size: text.length });
    },
    ...overrides,
  };
  return { agent, launched, killed };
}

let server: ReturnType<typeof buildServer> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function serve(agent: AgentApi, auth = {}) {
  server = buildServer({ agent, auth, bodyLimit: 64 * 1024 });
  return server;
}

const call = (
  app: ReturnType<typeof buildServer>,
  body: unknown,
  headers: Record<string, string> = {},
) =>
  app.inject({
    method: 'POST',
    url: '/api/v1',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('/api/v1 calls', () => {
  it('answers the GET_* calls', async () => {
    const app = serve(stubAgent().agent);
    expect((await call(app, { type: 'GET_HEALTH' })).json()).toEqual({
      type: 'GET_HEALTH',
      get_health: { healthy: true },
    });
    expect((await call(app, { type: 'GET_VERSION' })).json()).toEqual({
      type: 'GET_VERSION',
      get_version: { version_info: { version: '1.2.3' } },
    });
    expect((await call(app, { type: 'GET_FLAGS' })).json().get_flags.flags).toEqual([
      { name: 'isolation', value: 'posix/cpu' },
      { name: 'port', value: '5051' },
    ]);
    expect((await call(app, { type: 'GET_STATE' })).json()).toEqual({
      type: 'GET_STATE',
      get_state: { get_tasks: {} },
    });
    expect(
      (await call(app, { type: 'GET_CONTAINERS' })).json().get_containers.containers,
    ).toHaveLength(1);
    expect((await call(app, { type: 'GET_METRICS' })).json().get_metrics.metrics).toEqual([
      { name: 'containerizer/launches', value: 3 },
    ]);
  });

  it('launches: 200, 202 for a known id, 400 with the reason on validation or launch failure', async () => {
    const stub = stubAgent();
    const record = stub.agent.launch;
    stub.agent.launch = async (c) => {
      const outcome = await record(c);
      if (c.container_id.value === 'bad-mode') {
        throw new InvalidContainerConfigError(
          'container.linux_info.ipc_mode',
          "'WEIRD' is not PRIVATE or SHARE_PARENT",
        );
      }
      return outcome;
    };
    const app = serve(stub.agent);
    const launch = (id: unknown, extra = {}) =>
      call(app, {
        type: 'LAUNCH_CONTAINER',
        launch_container: { container_id: id, command: { value: 'sleep 1' }, ...extra },
      });
    expect((await launch({ value: 'c2' })).statusCode).toBe(200);
    expect((await launch({ value: 'known' })).statusCode).toBe(202);
    const invalid = await launch({ value: 'a/b' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).toMatch(
      /^Failed to validate agent::Call: 'launch_container.container_id' is invalid: .*invalid characters/,
    );
    const failed = await launch({ value: 'bad-mode' });
    expect(failed.statusCode).toBe(400);
    expect(failed.body).toBe(
      "'container.linux_info.ipc_mode' is invalid: 'WEIRD' is not PRIVATE or SHARE_PARENT",
    );
    expect((await launch({ value: 'x' }, { container: { type: 'DOCKER' } })).statusCode).toBe(400);
    expect(
      (
        await launch(
          { value: 'x' },
          { resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: -1 } }] },
        )
      ).body,
    ).toMatch(/resources\[name=cpus\]. is .*accepted: .*finite number >= 0/);
    const secret = await launch(
      { value: 'x' },
      {
        command: {
          value: 'true',
          environment: { variables: [{ name: 'TOKEN', type: 'SECRET', value: '' }] },
        },
      },
    );
    expect(secret.statusCode).toBe(400);
    expect(secret.body).toMatch(/variable 'TOKEN' has type "SECRET": only VALUE variables/);
    expect((await call(app, { type: 'LAUNCH_CONTAINER' })).body).toMatch(
      /Expecting 'launch_container' to be present/,
    );
    expect(
      (
        await call(app, {
          type: 'LAUNCH_CONTAINER',
          launch_container: { container_id: { value: 'x' } },
        })
      ).body,
    ).toMatch(/'launch_container.command' must be present/);
    expect(stub.launched.map((c) => c.container_id.value)).toEqual(['c2', 'known', 'bad-mode']);
  });

  it('waits: the termination, or 404', async () => {
    const app = serve(stubAgent().agent);
    const found = await call(app, {
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'c1' } },
    });
    expect(found.json()).toEqual({
      type: 'WAIT_CONTAINER',
      wait_container: { exit_status: 768, state: 'TASK_FAILED' },
    });
    const missing = await call(app, {
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'nope' } },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe('Container nope cannot be found');
  });

  it('kills with SIGKILL by default, a given signal, or 404', async () => {
    const stub = stubAgent();
    const app = serve(stub.agent);
    expect(
      (
        await call(app, {
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: 'c1' } },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await call(app, {
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: 'c1' }, signal: 15 },
        })
      ).statusCode,
    ).toBe(200);
    expect(stub.killed.map((k) => k.signal)).toEqual([9, 15]);
    expect(
      (
        await call(app, {
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: 'zz' } },
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await call(app, {
          type: 'KILL_CONTAINER',
          kill_container: { container_id: { value: 'c1' }, signal: 'TERM' },
        })
      ).statusCode,
    ).toBe(400);
  });

  it('removes terminated containers; 409 for a running one, 404 for an unknown one', async () => {
    const app = serve(stubAgent().agent);
    const remove = (value: string) =>
      call(app, { type: 'REMOVE_CONTAINER', remove_container: { container_id: { value } } });
    expect((await remove('c1')).statusCode).toBe(200);
    const busy = await remove('busy');
    expect(busy.statusCode).toBe(409);
    expect(busy.body).toMatch(/has not terminated yet/);
    expect((await remove('nope')).statusCode).toBe(404);
  });
});

describe('/api/v1 request rules', () => {
  it('refuses bad requests with 4xx, never 500', async () => {
    const app = serve(stubAgent().agent);
    expect((await call(app, '{not json')).statusCode).toBe(400);
    expect((await call(app, '[1,2]')).statusCode).toBe(400);
    expect((await call(app, { nothing: true })).statusCode).toBe(400);
    expect((await call(app, { type: 'TELEPORT' })).statusCode).toBe(501);
    const noType = await app.inject({ method: 'POST', url: '/api/v1', payload: '{}' });
    expect(noType.statusCode).toBe(400);
    expect(noType.body).toBe("Expecting 'Content-Type' to be present");
    const protobuf = await call(app, '{}', { 'content-type': 'application/x-protobuf' });
    expect(protobuf.statusCode).toBe(415);
    expect(
      (await call(app, { type: 'GET_HEALTH' }, { accept: 'application/x-protobuf' })).statusCode,
    ).toBe(406);
    const big = await call(app, { type: 'GET_HEALTH', pad: 'x'.repeat(100_000) });
    expect(big.statusCode).toBe(413);
    const get = await app.inject({ method: 'GET', url: '/api/v1' });
    expect(get.statusCode).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await app.inject({ method: 'DELETE', url: '/state' })).statusCode).toBe(405);
    expect((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
  });

  it('answers 503 on /state and /api/v1 until recovery is done; /health always', async () => {
    const app = serve(stubAgent({ isRecovered: () => false }).agent);
    expect((await call(app, { type: 'GET_HEALTH' })).statusCode).toBe(503);
    const state = await app.inject({ method: 'GET', url: '/state' });
    expect(state.statusCode).toBe(503);
    expect(state.body).toBe('Agent has not finished recovery');
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});

describe('read-only endpoints', () => {
  it('serve state, containers (with Mesos filter rules), flags and metrics', async () => {
    const app = serve(stubAgent().agent);
    expect((await app.inject({ method: 'GET', url: '/state' })).json()).toEqual({ frameworks: [] });
    expect((await app.inject({ method: 'GET', url: '/containers' })).json()).toEqual([
      { container_id: 'c1' },
    ]);
    expect(
      (await app.inject({ method: 'GET', url: '/containers?container_id=c1' })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/containers?framework_id=f&executor_id=e' }))
        .statusCode,
    ).toBe(200);
    for (const query of [
      'executor_id=e',
      'container_id=c&executor_id=e',
      'framework_id=f&container_id=c',
    ]) {
      expect((await app.inject({ method: 'GET', url: `/containers?${query}` })).statusCode).toBe(
        400,
      );
    }
    expect((await app.inject({ method: 'GET', url: '/flags' })).json()).toEqual({
      flags: { isolation: 'posix/cpu', port: '5051' },
    });
    expect((await app.inject({ method: 'GET', url: '/metrics/snapshot' })).json()).toEqual({
      'containerizer/launches': 3,
    });
    const prometheus = await app.inject({ method: 'GET', url: '/metrics' });
    expect(prometheus.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(prometheus.body).toContain('corral_container_launches_total 3');
  });
});

describe('GET /containers/logs', () => {
  const logs = (
    app: ReturnType<typeof buildServer>,
    query: string,
    method: 'GET' | 'POST' = 'GET',
  ) => app.inject({ method, url: `/containers/logs?${query}` });

  it('serves stdout or stderr from an offset, with the file size', async () => {
    const app = serve(stubAgent().agent);
    const all = await logs(app, 'container_id=c1');
    expect(all.statusCode).toBe(200);
    expect(all.headers['content-type']).toBe('application/octet-stream');
    expect(all.headers['x-corral-log-size']).toBe('12');
    expect(all.body).toBe('hello\nworld\n');
    expect((await logs(app, 'container_id=c1&offset=6')).body).toBe('world\n');
    expect((await logs(app, 'container_id=c1&offset=12')).body).toBe('');
    expect((await logs(app, 'container_id=c1&stream=stderr')).body).toBe('oops\n');
  });

  it('answers 404 for an unknown container and 400 for bad parameters, never 500', async () => {
    const app = serve(stubAgent().agent);
    const unknown = await logs(app, 'container_id=nope');
    expect([unknown.statusCode, unknown.body]).toEqual([404, "Container 'nope' cannot be found"]);
    for (const [query, message] of [
      ['', "Expecting one 'container_id' query parameter"],
      ['container_id=a&container_id=b', "Expecting one 'container_id' query parameter"],
      ['container_id=a%20b', `'container_id' is invalid: ContainerID value "a b" contains invalid`],
      ['container_id=..', "'container_id' is invalid: ContainerID value '..' is disallowed"],
      ['container_id=c1&stream=both', `'stream' must be stdout or stderr, got "both"`],
      [
        'container_id=c1&offset=-1',
        `'offset' must be a byte offset (a whole number from 0), got "-1"`,
      ],
      ['container_id=c1&offset=1e3', `'offset' must be a byte offset`],
      [
        'container_id=c1&length=10',
        'Supported query parameters are container_id, stream and offset',
      ],
    ] as const) {
      const response = await logs(app, query);
      expect(response.statusCode, query).toBe(400);
      expect(response.body, query).toContain(message);
    }
    const post = await logs(app, 'container_id=c1', 'POST');
    expect([post.statusCode, post.headers.allow]).toEqual([405, 'GET, HEAD']);
  });

  it('answers 409 when the log is not a regular file, 503 while recovering', async () => {
    const refused = serve(
      stubAgent({
        readLog: () => Promise.reject(new LogUnavailableError('/sandbox/stdout is a symlink')),
      }).agent,
    );
    const conflict = await logs(refused, 'container_id=c1');
    expect([conflict.statusCode, conflict.body]).toEqual([409, '/sandbox/stdout is a symlink']);
    await refused.close();
    const recovering = serve(stubAgent({ isRecovered: () => false }).agent);
    expect((await logs(recovering, 'container_id=c1')).statusCode).toBe(503);
  });

  it('is in the read-only realm', async () => {
    const app = serve(stubAgent().agent, {
      readonly: [{ principal: 'ops', secret: 's3cret' }],
    });
    expect((await logs(app, 'container_id=c1')).statusCode).toBe(401);
    const allowed = await app.inject({
      method: 'GET',
      url: '/containers/logs?container_id=c1',
      headers: { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` },
    });
    expect(allowed.body).toBe('hello\nworld\n');
  });
});

describe('basic authentication', () => {
  const credentials = [{ principal: 'ops', secret: 's3cret' }];
  const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

  it('guards each realm separately and never /health', async () => {
    const stub = stubAgent();
    const app = serve(stub.agent, { readwrite: credentials });
    expect((await app.inject({ method: 'GET', url: '/state' })).statusCode).toBe(200);
    const denied = await call(app, { type: 'GET_HEALTH' });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Basic realm="corral-agent-readwrite"');
    expect(
      (await call(app, { type: 'GET_HEALTH' }, { authorization: basic('ops:wrong') })).statusCode,
    ).toBe(401);
    expect(
      (await call(app, { type: 'GET_HEALTH' }, { authorization: basic('ops:s3cret:x') }))
        .statusCode,
    ).toBe(401);
    expect(
      (await call(app, { type: 'GET_HEALTH' }, { authorization: basic('ops:s3cret') })).statusCode,
    ).toBe(200);
    const launch = {
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: { value: 'c9' }, command: { value: 'true' } },
    };
    expect((await call(app, launch)).statusCode).toBe(401);
    expect(stub.launched).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('guards the read-only realm', async () => {
    const app = serve(stubAgent().agent, { readonly: credentials });
    const denied = await app.inject({ method: 'GET', url: '/flags' });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['www-authenticate']).toBe('Basic realm="corral-agent-readonly"');
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/flags',
          headers: { authorization: basic('ops:s3cret') },
        })
      ).statusCode,
    ).toBe(200);
  });
});
