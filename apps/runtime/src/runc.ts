import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutputOffsets, RuntimeReply } from '@corral/agent';
import { type GlobalOptions, type Invocation, USAGE, type Verb } from './args.ts';
import { call, type Exchange } from './client.ts';
import { AgentCallError, AgentUnreachableError, BundleReadError, RuncError } from './errors.ts';
import { RUNTIME_VERSION } from './version.ts';

/** What corral-runc touches of its process; main.ts provides the real one. */
export interface RuncIo {
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string | Uint8Array): void;
  /** Calls `forward` with the signal number of each SIGTERM, SIGINT or SIGHUP until `off()`. */
  onSignals(forward: (signal: number) => void): () => void;
}

/** Reads `<bundle>/config.json` with the caller's own permissions. */
function readConfig(bundle: string): unknown {
  const path = join(bundle, 'config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new BundleReadError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BundleReadError(`${path} is not JSON: ${(error as Error).message}`);
  }
}

/** The reply that ends a call, after any `started`/`output` replies `each` consumes. */
async function finalReply(
  replies: AsyncIterable<RuntimeReply>,
  socket: string,
  each: (reply: RuntimeReply) => void = () => undefined,
): Promise<RuntimeReply> {
  for await (const reply of replies) {
    if (reply.type === 'error') throw new AgentCallError(reply.code, reply.message);
    if (reply.type === 'started' || reply.type === 'output') each(reply);
    else return reply;
  }
  throw new AgentUnreachableError(socket, 'the agent closed the connection before answering');
}

/** How long a `run` whose agent went away waits for it to come back (a restart, say). */
const REATTACH_TIMEOUT_MS = 60_000;
const REATTACH_INTERVAL_MS = 200;

/** Attaches to container `id` again once the agent answers, for at most REATTACH_TIMEOUT_MS. */
async function reattach(socket: string, id: string, offsets: OutputOffsets): Promise<Exchange> {
  const deadline = Date.now() + REATTACH_TIMEOUT_MS;
  for (;;) {
    try {
      return await call(socket, { verb: 'attach', id, offsets: { ...offsets } });
    } catch (error) {
      if (!(error instanceof AgentUnreachableError) || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, REATTACH_INTERVAL_MS));
  }
}

/**
 * Runs the bundle and follows it to its exit. If the agent goes away once the container has
 * started, the container runs on: `run` attaches to it again when the agent is back, so the
 * scheduler's step (and its `scancel`) outlives an agent restart.
 */
async function run(call_: Extract<Verb, { verb: 'run' }>, global: GlobalOptions, io: RuncIo) {
  const config = readConfig(call_.bundle);
  let exchange = await call(global.agent, {
    verb: 'run',
    id: call_.id,
    bundle: call_.bundle,
    config,
  });
  let started = false;
  const offsets = { stdout: 0, stderr: 0 };
  // Signals that arrive while the agent is away are lost (runc has no agent to lose).
  const off = io.onSignals((signal) => exchange.send({ signal }));
  try {
    for (;;) {
      try {
        const reply = await finalReply(exchange.replies, global.agent, (progress) => {
          if (progress.type === 'started') {
            started = true;
            if (call_.pidFile) writeFileSync(call_.pidFile, String(progress.pid));
          }
          if (progress.type === 'output') {
            const data = Buffer.from(progress.data, 'base64');
            offsets[progress.stream] += data.length;
            if (progress.stream === 'stdout') io.stdout(data);
            else io.stderr(data);
          }
        });
        return reply.type === 'exit' ? reply.code : 1;
      } catch (error) {
        if (!(error instanceof AgentUnreachableError) || !started) throw error;
        exchange = await reattach(global.agent, call_.id, offsets);
      }
    }
  } finally {
    off();
  }
}

async function simple(verb: Exclude<Verb, { verb: 'run' }>, global: GlobalOptions, io: RuncIo) {
  const exchange = await call(global.agent, verb);
  const reply = await finalReply(exchange.replies, global.agent);
  if (reply.type === 'state') io.stdout(`${JSON.stringify(reply.state, null, 2)}\n`);
  return 0;
}

/** runc's --log: errors as text or as runc's JSON lines ({"level","msg","time"}). */
function logError(global: GlobalOptions, message: string): void {
  if (!global.log) return;
  const time = new Date().toISOString();
  const line =
    global.logFormat === 'json'
      ? JSON.stringify({ level: 'error', msg: message, time })
      : `time="${time}" level=error msg=${JSON.stringify(message)}`;
  try {
    appendFileSync(global.log, `${line}\n`);
  } catch {
    // An unwritable log must not hide the error itself, which stderr carries.
  }
}

/** Runs one invocation; resolves with the exit status (the container's, for `run`). */
export async function runc(invocation: Invocation, io: RuncIo): Promise<number> {
  if (invocation.kind === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (invocation.kind === 'version') {
    io.stdout(`corral-runc version ${RUNTIME_VERSION}\nspec: 1.0.2\n`);
    return 0;
  }
  const { global, call: verb } = invocation;
  try {
    return verb.verb === 'run' ? await run(verb, global, io) : await simple(verb, global, io);
  } catch (error) {
    if (!(error instanceof RuncError)) throw error;
    io.stderr(`corral-runc: ${error.message}\n`);
    logError(global, error.message);
    return 1;
  }
}
