import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { postCall, stubAgent } from '../../test/stub-agent.ts';
import { CallMessage, ResponseMessage } from '../api/protobuf.ts';
import { buildServer } from './server.ts';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function serve(overrides = {}) {
  app = buildServer({ agent: stubAgent(overrides).agent, auth: {} });
  return app;
}

const HEALTH = JSON.stringify({ type: 'GET_HEALTH' });
const protobufCall = (call: Record<string, unknown>) =>
  Buffer.from(CallMessage.encode(CallMessage.fromObject(call)).finish());
const post = (headers: Record<string, string | string[]>, payload: string | Buffer = HEALTH) =>
  (app ?? serve()).inject({ method: 'POST', url: '/api/v1', headers, payload });
const recordio = (bytes: Buffer) => Buffer.concat([Buffer.from(`${bytes.length}\n`), bytes]);

describe('content negotiation on /api/v1 (Mesos §2.1, in order)', () => {
  it.each([
    ['no Content-Type', {}, 400, "Expecting 'Content-Type' to be present"],
    [
      'an unknown Content-Type',
      { 'content-type': 'text/plain' },
      415,
      "Expecting 'Content-Type' of application/json or application/x-protobuf or application/recordio",
    ],
    [
      'a parameter other than charset',
      { 'content-type': 'application/json; version=2' },
      415,
      "Expecting 'Content-Type' of application/json or application/x-protobuf or application/recordio",
    ],
    [
      'RecordIO without Message-Content-Type',
      { 'content-type': 'application/recordio' },
      400,
      "Expecting 'Message-Content-Type' to be set for streaming requests",
    ],
    [
      'RecordIO with an unknown Message-Content-Type',
      { 'content-type': 'application/recordio', 'message-content-type': 'text/plain' },
      415,
      "Expecting 'Message-Content-Type' of application/json or application/x-protobuf",
    ],
    [
      'Message-Content-Type on a plain request',
      { 'content-type': 'application/json', 'message-content-type': 'application/json' },
      415,
      "Expecting 'Message-Content-Type' to be not set for non-streaming requests",
    ],
    [
      'an Accept that allows nothing Mesos speaks',
      { 'content-type': 'application/json', accept: 'text/html' },
      406,
      "Expecting 'Accept' to allow application/json or application/x-protobuf or application/recordio",
    ],
    [
      'q=0 on the only acceptable type',
      { 'content-type': 'application/json', accept: 'application/json;q=0' },
      406,
      "Expecting 'Accept' to allow application/json or application/x-protobuf or application/recordio",
    ],
    [
      'Message-Accept on a non-streaming response',
      { 'content-type': 'application/json', 'message-accept': 'application/json' },
      406,
      "Expecting 'Message-Accept' to be not set for non-streaming responses",
    ],
    [
      'a RecordIO Accept with a Message-Accept that allows nothing',
      {
        'content-type': 'application/json',
        accept: 'application/recordio',
        'message-accept': 'text/html',
      },
      406,
      "Expecting 'Message-Accept' to allow application/json or application/x-protobuf",
    ],
    [
      'a RecordIO Accept for a call that does not stream',
      { 'content-type': 'application/json', accept: 'application/recordio' },
      406,
      'Streaming response is not supported for GET_HEALTH call',
    ],
  ] as const)('refuses %s', async (_name, headers, status, message) => {
    const response = await post(headers);
    expect([response.statusCode, response.body]).toEqual([status, message]);
  });

  it('answers 503 before looking at anything else while recovering', async () => {
    serve({ isRecovered: () => false });
    const response = await post({ 'content-type': 'text/plain' });
    expect([response.statusCode, response.body]).toEqual([503, 'Agent has not finished recovery']);
  });

  it('refuses a RecordIO request body for any call but ATTACH_CONTAINER_INPUT, and EOF', async () => {
    const streamed = {
      'content-type': 'application/recordio',
      'message-content-type': 'application/json',
    };
    const health = await post(streamed, recordio(Buffer.from(HEALTH)));
    expect([health.statusCode, health.body]).toEqual([
      415,
      "Streaming 'Content-Type' application/recordio is not supported for GET_HEALTH call",
    ]);
    const eof = await post(streamed, Buffer.alloc(0));
    expect([eof.statusCode, eof.body]).toEqual([400, 'Received EOF while reading request body']);
    const input = await post(
      { 'content-type': 'application/json' },
      JSON.stringify({
        type: 'ATTACH_CONTAINER_INPUT',
        attach_container_input: { type: 'CONTAINER_ID', container_id: { value: 'c1' } },
      }),
    );
    expect([input.statusCode, input.body]).toEqual([
      415,
      "Expecting 'Content-Type' to be application/recordio for ATTACH_CONTAINER_INPUT call",
    ]);
  });

  it('picks JSON over protobuf whenever both are accepted (q does not rank), and defaults to JSON', async () => {
    for (const accept of [
      undefined,
      '*/*',
      'application/*',
      'application/x-protobuf;q=0.1, application/json;q=0.2',
      'application/x-protobuf, */*',
    ]) {
      const response = await post({
        'content-type': 'application/json',
        ...(accept ? { accept } : {}),
      });
      expect(response.headers['content-type'], accept).toBe('application/json');
    }
    const protobuf = await post({
      'content-type': 'application/json',
      accept: 'application/x-protobuf',
    });
    expect(protobuf.headers['content-type']).toBe('application/x-protobuf');
  });

  it('takes the last line of a repeated Accept, as libprocess does (mesos-go sends two)', async () => {
    const response = await post(
      {
        'content-type': 'application/x-protobuf',
        accept: ['application/json', 'application/x-protobuf'],
      },
      protobufCall({ type: 'GET_HEALTH' }),
    );
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    const twoLines = await post({
      'content-type': 'application/json',
      accept: ['application/x-protobuf', 'application/recordio'],
    });
    expect(twoLines.body).toBe('Streaming response is not supported for GET_HEALTH call');
  });

  it('answers with exact media types, no charset, and no Content-Type on body-less answers', async () => {
    const json = await post({ 'content-type': 'application/json' });
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.json()).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
    const state = await post({ 'content-type': 'application/json' }, '{"type":"GET_STATE"}');
    expect(state.headers['content-type']).toBe('application/json');
    const set = await post(
      { 'content-type': 'application/json' },
      JSON.stringify({
        type: 'SET_LOGGING_LEVEL',
        set_logging_level: { level: 1, duration: { nanoseconds: 1e9 } },
      }),
    );
    expect([set.statusCode, set.headers['content-type'], set.body]).toEqual([200, undefined, '']);
    const launched = await postCall(app as FastifyInstance, {
      type: 'LAUNCH_CONTAINER',
      launch_container: { container_id: { value: 'known' }, command: { value: 'true' } },
    });
    expect([launched.statusCode, launched.headers['content-type']]).toEqual([202, undefined]);
  });
});

describe('call types as Mesos treats them', () => {
  it.each([
    [
      'an unknown name',
      '{"type":"NOPE"}',
      400,
      "Failed to validate agent::Call: Expecting 'type' to be present",
    ],
    ['no type', '{}', 400, "Failed to validate agent::Call: Expecting 'type' to be present"],
    [
      'a null type',
      '{"type":null}',
      400,
      "Failed to validate agent::Call: Expecting 'type' to be present",
    ],
    ['a number', '{"type":1}', 400, "Not expecting a JSON number for field 'type'"],
    ['UNKNOWN', '{"type":"UNKNOWN"}', 501, '501 Not Implemented.'],
    ['malformed JSON', '{"type"', 400, 'Failed to parse body into JSON: '],
    ['an array', '[]', 400, 'Expecting a JSON object'],
    [
      'a missing required field',
      '{"type":"LIST_FILES","list_files":{}}',
      400,
      'Missing required fields: list_files.path',
    ],
    [
      'GET_METRICS without get_metrics',
      '{"type":"GET_METRICS"}',
      400,
      "Failed to validate agent::Call: Expecting 'get_metrics' to be present",
    ],
    [
      'a string for a message',
      '{"type":"GET_METRICS","get_metrics":"x"}',
      400,
      "Not expecting a JSON string for field 'get_metrics'",
    ],
    [
      'a nested call',
      '{"type":"WAIT_NESTED_CONTAINER","wait_nested_container":{"container_id":{"value":"a","parent":{"value":"b"}}}}',
      501,
      'WAIT_NESTED_CONTAINER is not supported: Corral has no nested containers yet',
    ],
    [
      'a resource-provider call',
      '{"type":"REMOVE_RESOURCE_PROVIDER_CONFIG","remove_resource_provider_config":{"type":"t","name":"n"}}',
      500,
      'Missing required flag --resource_provider_config_dir',
    ],
    [
      'MARK_RESOURCE_PROVIDER_GONE',
      '{"type":"MARK_RESOURCE_PROVIDER_GONE","mark_resource_provider_gone":{"resource_provider_id":{"value":"rp1"}}}',
      500,
      "Could not mark resource provider 'rp1' as gone: Agent has not registered yet",
    ],
  ] as const)('%s', async (_name, body, status, message) => {
    const response = await post({ 'content-type': 'application/json' }, body);
    expect(response.statusCode).toBe(status);
    expect(response.body.startsWith(message), response.body).toBe(true);
  });

  it('reads an unknown protobuf enum number as no type, and type 0 as UNKNOWN', async () => {
    const unknown = await post(
      { 'content-type': 'application/x-protobuf' },
      Buffer.from([0x08, 0xe7, 0x07]), // type = 999
    );
    expect([unknown.statusCode, unknown.body]).toEqual([
      400,
      "Failed to validate agent::Call: Expecting 'type' to be present",
    ]);
    const zero = await post(
      { 'content-type': 'application/x-protobuf' },
      Buffer.from([0x08, 0x00]),
    );
    expect(zero.statusCode).toBe(501);
    const garbage = await post(
      { 'content-type': 'application/x-protobuf' },
      Buffer.from([0x0a, 0xff]),
    );
    expect([garbage.statusCode, garbage.body]).toEqual([
      400,
      'Failed to parse body into a protobuf object',
    ]);
  });

  it('answers PRUNE_IMAGES, GET_OPERATIONS, GET_RESOURCE_PROVIDERS and GET_AGENT', async () => {
    const prune = await post({ 'content-type': 'application/json' }, '{"type":"PRUNE_IMAGES"}');
    expect([prune.statusCode, prune.body]).toEqual([200, '']);
    for (const [type, field] of [
      ['GET_OPERATIONS', 'get_operations'],
      ['GET_RESOURCE_PROVIDERS', 'get_resource_providers'],
    ] as const) {
      expect(
        (await post({ 'content-type': 'application/json' }, JSON.stringify({ type }))).json(),
      ).toEqual({ type, [field]: {} });
    }
    const agent = await post({ 'content-type': 'application/json' }, '{"type":"GET_AGENT"}');
    expect(agent.json().get_agent.agent_info).toEqual({
      hostname: 'node1',
      port: 5051,
      id: { value: 'a1-S0' },
    });
  });

  it('answers GET_STATE with exactly its three parts, each also a call of its own', async () => {
    const state = (
      await post({ 'content-type': 'application/json' }, '{"type":"GET_STATE"}')
    ).json().get_state;
    for (const part of ['get_tasks', 'get_executors', 'get_frameworks']) {
      const type = part.toUpperCase();
      const alone = await post({ 'content-type': 'application/json' }, JSON.stringify({ type }));
      expect(alone.json(), type).toEqual({ type, [part]: state[part] });
    }
  });
});

describe('protobuf round trips', () => {
  const protobuf = { 'content-type': 'application/x-protobuf', accept: 'application/x-protobuf' };
  const decode = (body: Buffer) =>
    ResponseMessage.toObject(ResponseMessage.decode(body), { enums: String, longs: Number });

  it('answers the same model in both codecs', async () => {
    for (const call of [
      { type: 'GET_HEALTH' },
      { type: 'GET_VERSION' },
      { type: 'GET_FLAGS' },
      { type: 'GET_METRICS', get_metrics: {} },
      { type: 'GET_STATE' },
      { type: 'GET_AGENT' },
      { type: 'GET_LOGGING_LEVEL' },
    ]) {
      const json = await post({ 'content-type': 'application/json' }, JSON.stringify(call));
      const binary = await post(protobuf, protobufCall(call));
      expect(binary.headers['content-type']).toBe('application/x-protobuf');
      // Mesos leaves empty repeated fields out of both; Corral's JSON writes them as [].
      const withoutEmptyLists = JSON.parse(json.body, (_key, value) =>
        Array.isArray(value) && value.length === 0 ? undefined : value,
      );
      expect(decode(binary.rawPayload), call.type).toEqual(withoutEmptyLists);
    }
  });

  it('decodes a protobuf launch to what the JSON launch gives, and refuses what it refuses', async () => {
    const stub = stubAgent();
    app = buildServer({ agent: stub.agent, auth: {} });
    const launch = {
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: 'c2' },
        command: {
          value: 'sleep 1',
          shell: true,
          environment: { variables: [{ name: 'A', value: 'b' }] },
        },
        resources: [{ name: 'cpus', type: 'SCALAR', scalar: { value: 0.5 } }],
        limits: { mem: { value: Number.POSITIVE_INFINITY } },
        container: { type: 'MESOS', linux_info: { ipc_mode: 'PRIVATE', shm_size: 16 } },
      },
    };
    expect((await post(protobuf, protobufCall(launch))).statusCode).toBe(200);
    expect(stub.launched[0]).toEqual({
      ...launch.launch_container,
      limits: { mem: { value: Infinity } },
    });
    const docker = await post(
      protobuf,
      protobufCall({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: 'd' },
          command: { value: 'true' },
          container: { type: 'DOCKER', docker: { image: 'busybox' } },
        },
      }),
    );
    expect(docker.statusCode).toBe(400);
  });
});
