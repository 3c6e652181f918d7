import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { jsonStream } from './json-stream.ts';

/** A JavaScript name, dotted paths included (`angular.callbacks._0`, as the Mesos web UI sends). */
const CALLBACK = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

async function* wrapped(callback: string, body: Readable): AsyncGenerator<Buffer | string> {
  yield `${callback}(`;
  for await (const chunk of body) yield chunk as Buffer | string;
  yield ');';
}

/**
 * Answers `value` as JSON (`application/json`, no charset, as Mesos' `OK(JSON::Value)`), or, with
 * `?jsonp=<callback>`, as `callback(<json>);` in `text/javascript`, as libprocess does. The
 * callback is written into a script, so anything but a JavaScript name is refused (400).
 * `large` answers are written in slices (`jsonStream`).
 */
export async function sendJson(
  request: FastifyRequest,
  reply: FastifyReply,
  value: unknown,
  large = false,
) {
  const { jsonp } = request.query as Record<string, unknown>;
  if (jsonp !== undefined && (typeof jsonp !== 'string' || !CALLBACK.test(jsonp))) {
    return reply
      .code(400)
      .type('text/plain')
      .send(
        `Invalid 'jsonp' callback ${JSON.stringify(jsonp)}: expecting a JavaScript name like cb or angular.callbacks._0`,
      );
  }
  const body = large ? jsonStream(value) : Readable.from([JSON.stringify(value)]);
  if (jsonp === undefined) return reply.header('content-type', 'application/json').send(body);
  return reply
    .header('content-type', 'text/javascript')
    .send(Readable.from(wrapped(jsonp, body), { objectMode: false }));
}
