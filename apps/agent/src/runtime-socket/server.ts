import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { isCorralError, type Logger } from '@corral/core';
import { peerCredentials } from '@corral/peercred';
import { isObject } from '../http/call-validation.ts';
import type { CallerPolicy } from './access.ts';
import type { Caller } from './bundle.ts';
import { RuntimeRequestError } from './errors.ts';
import type { OutputOffsets, RuntimeReply, RuntimeRequest } from './protocol.ts';
import type { Runtime } from './runtime.ts';

/** A request line larger than this is refused (a config.json with a large env fits easily). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

function stringField(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new RuntimeRequestError(`'${field}' must be a non-empty string`);
  }
  return value;
}

function signalField(body: Record<string, unknown>): number {
  const { signal } = body;
  if (typeof signal !== 'number' || !Number.isInteger(signal) || signal < 1 || signal > 64) {
    throw new RuntimeRequestError(
      `'signal' must be a number from 1 to 64, got ${JSON.stringify(signal)}`,
    );
  }
  return signal;
}

function offsetsField(body: Record<string, unknown>): OutputOffsets {
  const { offsets } = body;
  const valid = (value: unknown) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (!isObject(offsets) || !valid(offsets.stdout) || !valid(offsets.stderr)) {
    throw new RuntimeRequestError(
      `'offsets' must be {"stdout": N, "stderr": N} with byte counts, got ${JSON.stringify(offsets)}`,
    );
  }
  return { stdout: offsets.stdout as number, stderr: offsets.stderr as number };
}

export function parseRequest(line: string): RuntimeRequest {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    throw new RuntimeRequestError('the request is not JSON');
  }
  if (!isObject(body)) throw new RuntimeRequestError('the request must be a JSON object');
  const id = stringField(body, 'id');
  switch (body.verb) {
    case 'run':
      return { verb: 'run', id, bundle: stringField(body, 'bundle'), config: body.config };
    case 'attach':
      return { verb: 'attach', id, offsets: offsetsField(body) };
    case 'state':
      return { verb: 'state', id };
    case 'kill':
      return { verb: 'kill', id, signal: signalField(body), all: body.all === true };
    case 'delete':
      return { verb: 'delete', id, force: body.force === true };
    default:
      throw new RuntimeRequestError(
        `unknown verb ${JSON.stringify(body.verb)}: expected run, attach, state, kill or delete`,
      );
  }
}

export interface RuntimeSocketOptions {
  readonly path: string;
  readonly policy: CallerPolicy;
  readonly runtime: Runtime;
  /** Requests wait for this: records are only right once recovery is done. */
  readonly recovered: Promise<void>;
  readonly logger: Logger;
}

/**
 * The agent's unix-socket listener for `corral-runc`. Callers are who the kernel says they are
 * (SO_PEERCRED), never who they claim to be; the socket file is world-connectable and
 * `--runtime_socket_users` decides who is served.
 */
export class RuntimeSocketServer {
  readonly #options: RuntimeSocketOptions;
  readonly #server: Server;
  readonly #connections = new Set<Socket>();

  constructor(options: RuntimeSocketOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#serve(socket));
  }

  async listen(): Promise<void> {
    const { path } = this.#options;
    mkdirSync(dirname(path), { recursive: true });
    // A socket left by an agent that crashed; anything else at the path is not ours to remove.
    try {
      if (lstatSync(path).isSocket()) unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(path, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o666);
  }

  /** Stops accepting; running `run` streams are cut (their containers keep running). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#connections) socket.destroy();
    await closed;
  }

  #serve(socket: Socket): void {
    this.#connections.add(socket);
    socket.once('close', () => this.#connections.delete(socket));
    socket.on('error', () => undefined); // A client gone mid-reply: nothing to tell it.
    const send = (reply: RuntimeReply) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
    };
    const fail = (error: unknown) => {
      if (!isCorralError(error))
        this.#options.logger.error('runtime request failed', { error: String(error) });
      const code = isCorralError(error) ? error.code : 'CORRAL_INTERNAL_ERROR';
      send({
        type: 'error',
        code,
        message: error instanceof Error ? error.message : String(error),
      });
      socket.end();
    };
    let caller: Caller;
    try {
      caller = peerCredentials(socket);
      this.#options.policy.check(caller);
    } catch (error) {
      fail(error);
      return;
    }
    const lines = createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY });
    let request: RuntimeRequest | undefined;
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (request === undefined && received > MAX_REQUEST_BYTES) {
        fail(new RuntimeRequestError(`the request exceeds ${MAX_REQUEST_BYTES} bytes`));
      }
    });
    lines.on('line', (line) => {
      if (request === undefined) {
        try {
          request = parseRequest(line);
        } catch (error) {
          fail(error);
          return;
        }
        this.#handle(request, caller, send).then(() => socket.end(), fail);
        return;
      }
      // Lines after a run's (or attach's) request forward signals (the client's SIGTERM,
      // SIGINT, SIGHUP).
      const running = request;
      try {
        const parsed: unknown = JSON.parse(line);
        if ((running.verb !== 'run' && running.verb !== 'attach') || !isObject(parsed))
          throw new RuntimeRequestError('unexpected line');
        this.#options.runtime.kill(running.id, signalField(parsed), false, caller);
      } catch (error) {
        this.#options.logger.warn('runtime signal not forwarded', { error: String(error) });
      }
    });
  }

  async #handle(
    request: RuntimeRequest,
    caller: Caller,
    send: (reply: RuntimeReply) => void,
  ): Promise<void> {
    await this.#options.recovered;
    const { runtime } = this.#options;
    switch (request.verb) {
      case 'run':
        this.#options.logger.info('runtime run', {
          id: request.id,
          uid: caller.uid,
          bundle: request.bundle,
        });
        return runtime.run(request, caller, send);
      case 'attach':
        return runtime.attach(request.id, request.offsets, caller, send);
      case 'state':
        return send({ type: 'state', state: runtime.state(request.id, caller) });
      case 'kill':
        runtime.kill(request.id, request.signal, request.all, caller);
        return send({ type: 'ok' });
      case 'delete':
        await runtime.delete(request.id, request.force, caller);
        return send({ type: 'ok' });
    }
  }
}
