import { spawnSync } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { Socket } from 'node:net';

/**
 * The FIFO every launched command writes its first-instruction time to (CLOCK_MONOTONIC in ns,
 * one line per launch: the clock `process.hrtime.bigint()` reads). Held open read-write, so it
 * never reaches EOF between writers and a writer never blocks in open().
 */
export class StampFifo {
  readonly path: string;
  readonly #socket: Socket;
  readonly #lines: bigint[] = [];
  #buffer = '';
  #waiting: ((stamp: bigint) => void) | undefined;

  constructor(path: string) {
    this.path = path;
    const made = spawnSync('mkfifo', ['-m', '0600', path], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mkfifo ${path} failed: ${made.stderr.trim()}`);
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    this.#socket = new Socket({ fd, readable: true, writable: false });
    this.#socket.setEncoding('utf8');
    this.#socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let end = this.#buffer.indexOf('\n');
      while (end >= 0) {
        this.#lines.push(BigInt(this.#buffer.slice(0, end)));
        this.#buffer = this.#buffer.slice(end + 1);
        end = this.#buffer.indexOf('\n');
      }
      this.#deliver();
    });
  }

  #deliver(): void {
    const waiting = this.#waiting;
    if (waiting === undefined || this.#lines.length === 0) return;
    this.#waiting = undefined;
    waiting(this.#lines.shift() as bigint);
  }

  /** The next stamp; rejects when none arrives within `timeoutMs` (the command never ran). */
  next(timeoutMs = 10_000): Promise<bigint> {
    if (this.#waiting !== undefined) throw new Error('one reader at a time');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`no launch stamp on ${this.path} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = (stamp) => {
        clearTimeout(timer);
        resolve(stamp);
      };
      this.#deliver();
    });
  }

  /** Throws if a stamp arrived that nobody waited for: a stray launch would skew the next one. */
  assertEmpty(): void {
    if (this.#lines.length > 0) {
      throw new Error(`${this.#lines.length} unexpected launch stamp(s) on ${this.path}`);
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** Milliseconds between two CLOCK_MONOTONIC readings in ns. */
export function elapsedMs(from: bigint, to: bigint): number {
  return Number(to - from) / 1e6;
}

/** Both values once both promises settled, so neither rejection goes unhandled. */
export async function settleBoth<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [first, second] = await Promise.allSettled([a, b]);
  if (first.status === 'rejected') throw first.reason;
  if (second.status === 'rejected') throw second.reason;
  return [first.value, second.value];
}
