import { constants, createReadStream, type ReadStream } from 'node:fs';
import { type FileHandle, lstat, open, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { CorralError } from '@corral/core';

/** Mesos' cap on one read: 16 pages. */
export const MAX_READ_BYTES = 16 * 4096;

/** The agent's own log, as Mesos names it. */
const AGENT_LOG_PATH = '/slave/log';

/** A path the file browser refuses (400) or does not have (404), with Mesos' status. */
export class FilesError extends CorralError {
  readonly code = 'CORRAL_FILES_PATH';
  readonly status: 400 | 404;

  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/** One entry of a listing, as Mesos' FileInfo (mtime in seconds, mode = st_mode). */
export interface FileEntry {
  readonly path: string;
  readonly nlink: number;
  readonly size: number;
  readonly mtime: number;
  readonly mode: number;
  readonly uid: string;
  readonly gid: string;
}

export interface FileChunk {
  readonly size: number;
  readonly data: Buffer;
}

export interface SandboxFilesOptions {
  /** `<work_dir>/containers`: sandboxes are `<dir>/<container>`. */
  readonly sandboxesDir: string;
  readonly frameworkId: string;
  /** The sandbox of a known container, by its id string; undefined when unknown. */
  readonly sandboxOf: (container: string) => string | undefined;
  readonly containers: () => Iterable<string>;
  /** The agent's log file, when it writes one. */
  readonly agentLog?: () => string | undefined;
}

interface Resolved {
  /** The directory nothing may escape (the sandbox), or the log file itself. */
  readonly boundary: string;
  readonly real: string;
}

/**
 * Read-only access to the sandboxes and the agent log under Mesos' virtual paths: the sandbox's
 * real path, `/frameworks/<framework>/executors/<container>/runs/latest` (and `runs/<container>`,
 * which dcos-cli looks for), and `/slave/log`. A path is a security boundary: `..` is refused
 * outright and every open is checked, through the descriptor actually opened, to lie inside its
 * sandbox, so a symlink (or one swapped in meanwhile) cannot lead out of it.
 */
export class SandboxFiles {
  readonly #options: SandboxFilesOptions;

  constructor(options: SandboxFilesOptions) {
    this.#options = options;
  }

  #runs(container: string): string {
    return `/frameworks/${this.#options.frameworkId}/executors/${container}/runs`;
  }

  /** Every virtual path and the real path behind it (`/files/debug`). */
  debug(): Record<string, string> {
    const attached: Record<string, string> = {};
    const log = this.#options.agentLog?.();
    if (log) attached[AGENT_LOG_PATH] = log;
    for (const container of this.#options.containers()) {
      const sandbox = this.#options.sandboxOf(container);
      if (!sandbox) continue;
      attached[sandbox] = sandbox;
      attached[`${this.#runs(container)}/latest`] = sandbox;
      attached[`${this.#runs(container)}/${container}`] = sandbox;
    }
    return attached;
  }

  #resolve(path: string): Resolved {
    if (path.includes('\0')) throw new FilesError(400, `Path ${JSON.stringify(path)} is invalid`);
    if (!path.startsWith('/')) {
      throw new FilesError(400, `Path '${path}' is invalid: expecting an absolute virtual path`);
    }
    const segments = path.split('/').filter(Boolean);
    if (segments.includes('..') || segments.includes('.')) {
      throw new FilesError(400, `Path '${path}' is invalid: '.' and '..' are not allowed`);
    }
    const normal = `/${segments.join('/')}`;
    if (normal === AGENT_LOG_PATH) {
      const log = this.#options.agentLog?.();
      if (!log) throw new FilesError(404, `'${path}' does not exist: the agent logs to no file`);
      return { boundary: log, real: log };
    }
    const { frameworkId, sandboxesDir } = this.#options;
    const runs = new RegExp(
      `^/frameworks/${regexLiteral(frameworkId)}/executors/([^/]+)/runs/([^/]+)`,
    );
    const byRuns = runs.exec(normal);
    let container: string | undefined;
    let rest = '';
    if (byRuns && (byRuns[2] === 'latest' || byRuns[2] === byRuns[1])) {
      container = byRuns[1];
      rest = normal.slice(byRuns[0].length);
    } else if (normal.startsWith(`${sandboxesDir}/`)) {
      [container] = normal.slice(sandboxesDir.length + 1).split('/');
      rest = normal.slice(sandboxesDir.length + 1 + (container ?? '').length);
    }
    const sandbox = container === undefined ? undefined : this.#options.sandboxOf(container);
    if (!sandbox) throw new FilesError(404, `'${path}' does not exist`);
    return { boundary: sandbox, real: join(sandbox, rest) };
  }

  /**
   * Opens `path` read-only without following a final symlink, then checks where the descriptor
   * really points; the caller closes it.
   */
  async #open(path: string, directory: boolean): Promise<{ handle: FileHandle; real: string }> {
    const { boundary, real } = this.#resolve(path);
    let handle: FileHandle;
    let inside: string;
    try {
      inside = await realpath(boundary);
      handle = await open(
        real,
        constants.O_RDONLY |
          constants.O_NOFOLLOW |
          constants.O_NONBLOCK |
          (directory ? constants.O_DIRECTORY : 0),
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new FilesError(404, `'${path}' does not exist`);
      if (code === 'ELOOP') throw new FilesError(400, `'${path}' is a symlink`);
      if (code === 'ENOTDIR') throw new FilesError(400, `'${path}' is not a directory`);
      throw error;
    }
    const opened = await readlink(`/proc/self/fd/${handle.fd}`);
    if (opened !== inside && !opened.startsWith(`${inside}/`)) {
      await handle.close();
      throw new FilesError(400, `'${path}' leads out of its sandbox`);
    }
    return { handle, real: opened };
  }

  async list(path: string): Promise<FileEntry[]> {
    const { handle } = await this.#open(path, true);
    try {
      // Through the descriptor, so the listing is of the directory that was checked.
      const dir = `/proc/self/fd/${handle.fd}`;
      const base = path.replace(/\/+$/, '');
      const entries: FileEntry[] = [];
      for (const name of (await readdir(dir)).sort()) {
        const stat = await lstat(join(dir, name)).catch(() => undefined);
        if (!stat) continue; // Gone meanwhile.
        entries.push({
          path: `${base}/${name}`,
          nlink: stat.nlink,
          size: stat.size,
          mtime: Math.floor(stat.mtimeMs / 1000),
          mode: stat.mode,
          uid: String(stat.uid),
          gid: String(stat.gid),
        });
      }
      return entries;
    } finally {
      await handle.close();
    }
  }

  /** At most `length` (and 16 pages) bytes from `offset`, with the file's size. */
  async read(path: string, offset: number, length?: number): Promise<FileChunk> {
    const { handle } = await this.#open(path, false);
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw new FilesError(400, 'Cannot read a directory');
      const wanted = Math.min(length ?? stat.size - offset, MAX_READ_BYTES, stat.size - offset);
      if (!(wanted > 0)) return { size: stat.size, data: Buffer.alloc(0) };
      const data = Buffer.alloc(wanted);
      const { bytesRead } = await handle.read(data, 0, wanted, offset);
      return { size: stat.size, data: data.subarray(0, bytesRead) };
    } finally {
      await handle.close();
    }
  }

  /** The whole file as a stream (the stream closes the descriptor). */
  async download(path: string): Promise<{ name: string; stream: ReadStream }> {
    const { handle, real } = await this.#open(path, false);
    const stat = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (stat.isDirectory()) {
      await handle.close();
      throw new FilesError(400, 'Cannot download a directory');
    }
    return { name: real.split('/').at(-1) ?? 'file', stream: createReadStream('', { fd: handle }) };
  }
}

function regexLiteral(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
