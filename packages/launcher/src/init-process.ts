import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RLimit } from '@corral/core';
import { LaunchError } from './errors.ts';
import type { InitSpec, PendingInit } from './launcher.ts';
import { readExitStatus, readProcessStartTime } from './process.ts';

/** The native helper; the same relative path works from src/ and from dist/. */
export const INIT_HELPER_PATH = fileURLToPath(
  new URL('../native/build/corral-init', import.meta.url),
);

const RELEASE = Buffer.from([1]);

function rlimitArgument(rlimit: RLimit): string {
  const { type, soft, hard } = rlimit;
  if ((soft === undefined) !== (hard === undefined)) {
    throw new LaunchError(
      `Invalid rlimit values for ${type}: soft and hard must be both set or both unset (unlimited)`,
    );
  }
  for (const value of [soft, hard]) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new LaunchError(`Invalid rlimit value ${value} for ${type}: expected an integer >= 0`);
    }
  }
  return `--rlimit=${type.replace(/^RLMT_/, '')}:${soft ?? 'unlimited'}:${hard ?? 'unlimited'}`;
}

/** The helper's argv for `spec` (see native/corral-init.c for the encoding). */
export function helperArguments(spec: InitSpec): string[] {
  if (spec.argv.length === 0) throw new LaunchError('Cannot launch an empty argv');
  const args: string[] = [];
  if (spec.cloneNamespaces.length > 0) args.push(`--ns=${spec.cloneNamespaces.join(',')}`);
  for (const mount of spec.mounts) {
    args.push(
      '--mount',
      mount.source ?? '',
      mount.target,
      mount.type ?? '',
      (mount.flags ?? []).join(','),
      mount.options ?? '',
    );
  }
  for (const rlimit of spec.rlimits) args.push(rlimitArgument(rlimit));
  args.push(`--cwd=${spec.workingDirectory}`);
  if (spec.hostname !== undefined) args.push(`--hostname=${spec.hostname}`);
  args.push(`--status-file=${spec.statusFile}`, '--', ...spec.argv);
  return args;
}

/** Reads the helper's protocol lines (`ready`, then `ok` or `error <message>`) off fd 3. */
class LineReader {
  #buffer = '';
  #closed = false;
  #waiting: ((line: string | undefined) => void) | undefined;

  constructor(socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#deliver();
    });
    // A dead helper makes writes fail with EPIPE; the missing line reports it.
    socket.on('error', () => this.#close());
    socket.on('close', () => this.#close());
  }

  #close(): void {
    this.#closed = true;
    this.#deliver();
  }

  #deliver(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    const end = this.#buffer.indexOf('\n');
    if (end >= 0) {
      const line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 1);
      this.#waiting = undefined;
      waiting(line);
    } else if (this.#closed) {
      this.#waiting = undefined;
      waiting(undefined);
    }
  }

  /** The next line, or undefined once the helper closed fd 3 without sending one. */
  next(): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#deliver();
    });
  }
}

function failure(line: string | undefined, stage: string): LaunchError {
  if (line?.startsWith('error ')) return new LaunchError(line.slice('error '.length));
  return new LaunchError(
    line === undefined
      ? `Container init exited ${stage} without reporting why`
      : `Container init sent an unexpected reply ${JSON.stringify(line)} ${stage}`,
  );
}

class InitProcess implements PendingInit {
  readonly pid: number;
  readonly startTime: number;
  readonly exited: Promise<number>;
  readonly #child: ChildProcess;
  readonly #socket: Socket;
  readonly #lines: LineReader;
  #released: Promise<void> | undefined;

  constructor(child: ChildProcess, pid: number, startTime: number, exited: Promise<number>) {
    this.#child = child;
    this.pid = pid;
    this.startTime = startTime;
    this.exited = exited;
    this.#socket = child.stdio[3] as Socket;
    this.#lines = new LineReader(this.#socket);
  }

  /** Waits until the helper has created its namespaces (or failed to). */
  async ready(): Promise<void> {
    const line = await this.#lines.next();
    if (line !== 'ready') throw failure(line, 'before its namespaces were created');
  }

  release(): Promise<void> {
    this.#released ??= this.#release();
    return this.#released;
  }

  async #release(): Promise<void> {
    if (this.#socket.destroyed) throw new LaunchError('Container init was aborted');
    this.#socket.write(RELEASE);
    const line = await this.#lines.next();
    this.#socket.destroy();
    if (line !== 'ok') throw failure(line, 'before running the command');
    // From here the container lives on its own: the agent may exit and recover it later.
    this.#child.unref();
  }

  abort(): void {
    this.#socket.destroy();
  }
}

/**
 * Spawns the native init for `spec`. Resolves once the helper's namespaces exist, with the init
 * blocked on the sync pipe: the command has not run. `track` is called with the init's pid right
 * after the spawn and runs while the helper unshares; when it fails, the init is aborted.
 */
export async function startInit(
  spec: InitSpec,
  track?: (pid: number) => void | Promise<void>,
): Promise<PendingInit> {
  const args = helperArguments(spec);
  const stdout = openSync(spec.stdoutFile, 'a');
  let child: ChildProcess;
  try {
    const stderr = openSync(spec.stderrFile, 'a');
    try {
      child = spawn(INIT_HELPER_PATH, args, {
        detached: true,
        stdio: ['ignore', stdout, stderr, 'pipe'],
        env: spec.environment,
      });
    } finally {
      closeSync(stderr);
    }
  } finally {
    closeSync(stdout);
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const pid = child.pid;
  if (pid === undefined) {
    const cause = await spawnError;
    throw new LaunchError(
      `Cannot start the container init '${INIT_HELPER_PATH}': ${cause.message}`,
      {
        cause,
      },
    );
  }
  const exited = new Promise<number>((resolve, reject) => {
    child.once('exit', () => readExitStatus(spec.statusFile).then(resolve, reject));
  });
  // Our unreaped child: /proc/<pid> exists even if it already died.
  const startTime = readProcessStartTime(pid) ?? 0;
  const init = new InitProcess(child, pid, startTime, exited);
  try {
    await Promise.all([track?.(pid), init.ready()]);
  } catch (error) {
    init.abort();
    throw error;
  }
  return init;
}
