import type { IncomingMessage } from 'node:http';
import { InvalidContainerIdError, validateContainerIdValue } from '@corral/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { parseJsonCall } from '../api/json-call.ts';
import {
  JSON_TYPE,
  type Negotiated,
  NegotiationError,
  negotiate,
  PROTOBUF_TYPE,
} from '../api/negotiation.ts';
import {
  CallDecodeError,
  decodeCall,
  encodeResponse,
  type MessageObject,
} from '../api/protobuf.ts';
import { firstRecord } from '../api/recordio.ts';
import type { Credential } from '../config/credentials.ts';
import { type LogChunk, LogUnavailableError } from '../containers/logs.ts';
import type { AgentApi, ContainersFilter } from './agent-api.ts';
import { type CallResult, handleCall } from './api-v1.ts';
import { isAuthorized, type Realm } from './auth.ts';
import { registerFileRoutes } from './files.ts';
import { jsonStream } from './json-stream.ts';
import { sendJson } from './jsonp.ts';

export interface ServerOptions {
  readonly agent: AgentApi;
  /** Credentials per realm; a realm without them is not authenticated. */
  readonly auth: {
    readonly readonly?: readonly Credential[];
    readonly readwrite?: readonly Credential[];
  };
  readonly logger?: FastifyBaseLogger;
  /** Largest request body in bytes (413 beyond it). */
  readonly bodyLimit?: number;
}

const RECOVERING = 'Agent has not finished recovery';

/**
 * The agent process's routes, which Mesos also serves under `/slave(1)/` (libprocess hands
 * unprefixed paths to `slave(1)`); mesos_exporter fetches `/slave(1)/state`.
 */
const AGENT_PROCESS_ROUTES = [
  '/api/v1',
  '/state',
  '/flags',
  '/health',
  '/monitor/statistics',
  '/containers',
  '/containerizer/debug',
];
const aliased = (path: string) =>
  AGENT_PROCESS_ROUTES.includes(path) ? [path, `/slave(1)${path}`] : [path];

/** Paths and the methods they answer; anything else on these paths is a 405. */
const ROUTES: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries({
    '/api/v1': ['POST'],
    '/state': ['GET', 'HEAD'],
    '/containers': ['GET', 'HEAD'],
    '/containers/logs': ['GET', 'HEAD'],
    '/containerizer/debug': ['GET', 'HEAD'],
    '/monitor/statistics': ['GET', 'HEAD'],
    '/flags': ['GET', 'HEAD'],
    '/version': ['GET', 'HEAD'],
    '/metrics': ['GET', 'HEAD'],
    '/metrics/snapshot': ['GET', 'HEAD'],
    '/files/browse': ['GET', 'HEAD'],
    '/files/read': ['GET', 'HEAD'],
    '/files/download': ['GET', 'HEAD'],
    '/files/debug': ['GET', 'HEAD'],
  }).flatMap(([path, methods]) => aliased(path).map((alias) => [alias, methods])),
);

/** Every line of a request header, in order (Node joins or drops repeated ones). */
function headerLines(raw: IncomingMessage, name: string): string[] | undefined {
  const lines: string[] = [];
  for (let index = 0; index + 1 < raw.rawHeaders.length; index += 2) {
    if (raw.rawHeaders[index]?.toLowerCase() === name) lines.push(raw.rawHeaders[index + 1] ?? '');
  }
  return lines.length > 0 ? lines : undefined;
}

/**
 * Mesos' checks of `_api` that need the call's type: RecordIO is accepted only where a stream
 * is (ATTACH_CONTAINER_INPUT in, ATTACH_CONTAINER_OUTPUT and LNCS out).
 */
function streamingRefusal(type: unknown, negotiated: Negotiated): CallResult | undefined {
  if (typeof type !== 'string') return undefined;
  if (negotiated.streamedRequest && type !== 'ATTACH_CONTAINER_INPUT') {
    return {
      status: 415,
      text: `Streaming 'Content-Type' application/recordio is not supported for ${type} call`,
    };
  }
  if (!negotiated.streamedRequest && type === 'ATTACH_CONTAINER_INPUT') {
    return {
      status: 415,
      text: `Expecting 'Content-Type' to be application/recordio for ${type} call`,
    };
  }
  if (
    negotiated.streamedResponse &&
    type !== 'ATTACH_CONTAINER_OUTPUT' &&
    type !== 'LAUNCH_NESTED_CONTAINER_SESSION'
  ) {
    return { status: 406, text: `Streaming response is not supported for ${type} call` };
  }
  return undefined;
}

/**
 * Writes a call's answer. Bodies go out as a Buffer or stream with the bare media type: fastify
 * appends `; charset=utf-8` to JSON given as a string or object, and mesos-go compares the
 * header byte for byte. A body-less answer has no Content-Type at all (mesos-go checks that too).
 */
async function sendResult(reply: FastifyReply, result: CallResult, as: Negotiated['response']) {
  reply.code(result.status);
  if (result.response !== undefined) {
    reply.header('content-type', as);
    if (as === PROTOBUF_TYPE) return reply.send(await encodeResponse(result.response));
    return reply.send(
      result.large
        ? jsonStream(result.response)
        : Buffer.from(JSON.stringify(result.response), 'utf8'),
    );
  }
  if (result.text !== undefined) return reply.type('text/plain').send(result.text);
  return reply.send();
}

/**
 * The agent's HTTP API. `/health` is never authenticated; the read-only endpoints are in the
 * readonly realm and `/api/v1` in the readwrite realm (Mesos §6.1).
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const { agent } = options;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
  });

  const guard =
    (realm: Realm, credentials: readonly Credential[] | undefined) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (!credentials || isAuthorized(request.headers.authorization, credentials)) return;
      await reply
        .code(401)
        .header('www-authenticate', `Basic realm="${realm}"`)
        .type('text/plain')
        .send('Unauthorized: send HTTP basic credentials from --http_credentials');
    };
  const readonly = guard('corral-agent-readonly', options.auth.readonly);
  const readwrite = guard('corral-agent-readwrite', options.auth.readwrite);
  const recovering = (reply: FastifyReply) => reply.code(503).type('text/plain').send(RECOVERING);

  // /api/v1 negotiates and decodes its own bodies (JSON, protobuf, RecordIO), as Mesos does,
  // instead of fastify's defaults.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  for (const url of aliased('/health')) app.all(url, async (_request, reply) => reply.send());

  const api = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!agent.isRecovered()) return recovering(reply);
    const text = (status: number, message: string) =>
      reply.code(status).type('text/plain').send(message);
    let negotiated: Negotiated;
    let call: MessageObject;
    try {
      negotiated = negotiate({
        contentType: headerLines(request.raw, 'content-type'),
        messageContentType: headerLines(request.raw, 'message-content-type'),
        accept: headerLines(request.raw, 'accept'),
        messageAccept: headerLines(request.raw, 'message-accept'),
      });
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const message = negotiated.streamedRequest ? firstRecord(body) : body;
      call =
        negotiated.request === JSON_TYPE
          ? parseJsonCall(message.toString('utf8'))
          : decodeCall(message);
    } catch (error) {
      if (error instanceof NegotiationError) return text(error.status, error.message);
      if (error instanceof CallDecodeError) return text(400, error.message);
      throw error;
    }
    const result = streamingRefusal(call.type, negotiated) ?? (await handleCall(agent, call));
    return sendResult(reply, result, negotiated.response);
  };
  for (const url of aliased('/api/v1')) app.post(url, { preHandler: readwrite }, api);

  const get = (
    path: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    { whileRecovering = false } = {},
  ) => {
    for (const url of aliased(path)) {
      app.get(url, { preHandler: readonly }, async (request, reply) => {
        if (!whileRecovering && !agent.isRecovered()) return recovering(reply);
        return handler(request, reply);
      });
    }
  };
  const query = (request: FastifyRequest) => request.query as Record<string, unknown>;

  get('/state', (request, reply) => sendJson(request, reply, agent.state(), true));

  get('/containers', async (request, reply) => {
    const { jsonp: _callback, ...filter } = query(request);
    const keys = Object.keys(filter).sort().join(',');
    if (!['', 'container_id', 'framework_id', 'executor_id,framework_id'].includes(keys)) {
      return reply
        .code(400)
        .type('text/plain')
        .send(
          'Supported query parameters are container_id only, framework_id only, or executor_id and framework_id only',
        );
    }
    return sendJson(request, reply, await agent.containers(filter as ContainersFilter), true);
  });

  get('/monitor/statistics', async (request, reply) =>
    sendJson(request, reply, await agent.monitorStatistics(), true),
  );

  get('/containerizer/debug', (request, reply) =>
    sendJson(request, reply, agent.containerizerDebug(), false),
  );

  get('/containers/logs', async (request, reply) => {
    const bad = (message: string) => reply.code(400).type('text/plain').send(message);
    if (
      Object.keys(query(request)).some((key) => !['container_id', 'stream', 'offset'].includes(key))
    ) {
      return bad('Supported query parameters are container_id, stream and offset');
    }
    const { container_id: id, stream = 'stdout', offset = '0' } = query(request);
    if (typeof id !== 'string') return bad("Expecting one 'container_id' query parameter");
    try {
      validateContainerIdValue(id);
    } catch (error) {
      if (error instanceof InvalidContainerIdError) {
        return bad(`'container_id' is invalid: ${error.message}`);
      }
      throw error;
    }
    if (stream !== 'stdout' && stream !== 'stderr') {
      return bad(`'stream' must be stdout or stderr, got ${JSON.stringify(stream)}`);
    }
    if (typeof offset !== 'string' || !/^\d{1,15}$/.test(offset)) {
      return bad(
        `'offset' must be a byte offset (a whole number from 0), got ${JSON.stringify(offset)}`,
      );
    }
    let chunk: LogChunk | undefined;
    try {
      chunk = await agent.readLog({ value: id }, stream, Number(offset));
    } catch (error) {
      if (error instanceof LogUnavailableError) {
        return reply.code(409).type('text/plain').send(error.message);
      }
      throw error;
    }
    if (!chunk) return reply.code(404).type('text/plain').send(`Container '${id}' cannot be found`);
    return reply
      .header('x-corral-log-size', String(chunk.size))
      .type('application/octet-stream')
      .send(chunk.data);
  });

  const always = { whileRecovering: true };
  get('/flags', (request, reply) => sendJson(request, reply, { flags: agent.flags() }), always);
  get('/version', (request, reply) => sendJson(request, reply, agent.version()), always);
  get(
    '/metrics/snapshot',
    (request, reply) => sendJson(request, reply, agent.metricsSnapshot()),
    always,
  );
  get(
    '/metrics',
    async (_request, reply) =>
      reply.type('text/plain; version=0.0.4').send(await agent.prometheus()),
    always,
  );
  registerFileRoutes(get, agent.files);

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = ROUTES[path];
    if (allowed) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .type('text/plain')
        .send(`Method ${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`);
    }
    return reply.code(404).type('text/plain').send(`No endpoint at ${path}`);
  });

  app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status === 500) request.log.error({ err: error }, 'request failed');
    return reply
      .code(status)
      .type('text/plain')
      .send(status === 500 ? 'Internal error: see the agent log' : error.message);
  });

  return app;
}
