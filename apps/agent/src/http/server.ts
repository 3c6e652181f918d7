import { InvalidContainerIdError, validateContainerIdValue } from '@corral/core';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Credential } from '../config/credentials.ts';
import { type LogChunk, LogUnavailableError } from '../containers/logs.ts';
import type { AgentApi, ContainersFilter } from './agent-api.ts';
import { handleCall } from './api-v1.ts';
import { isAuthorized, type Realm } from './auth.ts';
import { jsonStream } from './json-stream.ts';

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

/** Paths and the methods they answer; anything else on these paths is a 405. */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/api/v1': ['POST'],
  '/state': ['GET', 'HEAD'],
  '/containers': ['GET', 'HEAD'],
  '/containers/logs': ['GET', 'HEAD'],
  '/flags': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  '/metrics/snapshot': ['GET', 'HEAD'],
};

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

  // /api/v1 parses its own bodies so that a missing content type is a 400 and anything but JSON
  // a 415, as in Mesos, instead of fastify's defaults.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.all('/health', async (_request, reply) => reply.code(200).send());

  app.post('/api/v1', { preHandler: readwrite }, async (request, reply) => {
    if (!agent.isRecovered()) return reply.code(503).type('text/plain').send(RECOVERING);
    const contentType = request.headers['content-type'];
    if (contentType === undefined) {
      return reply.code(400).type('text/plain').send("Expecting 'Content-Type' to be present");
    }
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      return reply
        .code(415)
        .type('text/plain')
        .send(`Unsupported 'Content-Type' ${contentType}: only application/json is supported`);
    }
    const accept = request.headers.accept;
    if (accept && !/application\/json|\*\/\*|application\/\*/i.test(accept)) {
      return reply
        .code(406)
        .type('text/plain')
        .send(`Unsupported 'Accept' ${accept}: only application/json is supported`);
    }
    let call: unknown;
    try {
      call = JSON.parse(typeof request.body === 'string' ? request.body : '');
    } catch (error) {
      return reply
        .code(400)
        .type('text/plain')
        .send(`Failed to parse body into JSON: ${(error as Error).message}`);
    }
    const result = await handleCall(agent, call);
    reply.code(result.status);
    if (result.json !== undefined) {
      return reply
        .type('application/json')
        .send(result.large ? jsonStream(result.json) : result.json);
    }
    if (result.text !== undefined) return reply.type('text/plain').send(result.text);
    return reply.send();
  });

  app.get('/state', { preHandler: readonly }, async (_request, reply) => {
    if (!agent.isRecovered()) return reply.code(503).type('text/plain').send(RECOVERING);
    return reply.type('application/json').send(jsonStream(agent.state()));
  });

  app.get('/containers', { preHandler: readonly }, async (request, reply) => {
    if (!agent.isRecovered()) return reply.code(503).type('text/plain').send(RECOVERING);
    const query = request.query as Record<string, unknown>;
    const keys = Object.keys(query).sort().join(',');
    if (!['', 'container_id', 'framework_id', 'executor_id,framework_id'].includes(keys)) {
      return reply
        .code(400)
        .type('text/plain')
        .send(
          'Supported query parameters are container_id only, framework_id only, or executor_id and framework_id only',
        );
    }
    return reply
      .type('application/json')
      .send(jsonStream(await agent.containers(query as ContainersFilter)));
  });

  app.get('/containers/logs', { preHandler: readonly }, async (request, reply) => {
    if (!agent.isRecovered()) return reply.code(503).type('text/plain').send(RECOVERING);
    const query = request.query as Record<string, unknown>;
    const bad = (message: string) => reply.code(400).type('text/plain').send(message);
    if (Object.keys(query).some((key) => !['container_id', 'stream', 'offset'].includes(key))) {
      return bad('Supported query parameters are container_id, stream and offset');
    }
    const { container_id: id, stream = 'stdout', offset = '0' } = query;
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

  app.get('/flags', { preHandler: readonly }, async () => ({ flags: agent.flags() }));
  app.get('/metrics/snapshot', { preHandler: readonly }, async () => agent.metricsSnapshot());
  app.get('/metrics', { preHandler: readonly }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(await agent.prometheus()),
  );

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
