import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { CorralError } from '@corral/core';

export type LogStream = 'stdout' | 'stderr';

/** The most one read returns, so a large log never sits in memory whole. */
export const MAX_LOG_CHUNK_BYTES = 1024 * 1024;

export interface LogChunk {
  /** Bytes from the requested offset; empty at or past the end. */
  readonly data: Buffer;
  /** The file's size when read, so a reader knows whether more follows. */
  readonly size: number;
}

/** The sandbox's `stdout`/`stderr` is not a regular file (e.g. the command replaced it). */
export class LogUnavailableError extends CorralError {
  readonly code = 'CORRAL_LOG_UNAVAILABLE';
}

/**
 * Reads `<sandbox>/<stream>` from `offset`, at most `max` bytes. A file the command has not
 * created yet reads as empty. Symlinks are not followed: the command owns its sandbox, and a
 * `stdout` pointing elsewhere must not let a log reader read other files of the host.
 */
export async function readLogChunk(
  sandbox: string,
  stream: LogStream,
  offset: number,
  max = MAX_LOG_CHUNK_BYTES,
): Promise<LogChunk> {
  const file = join(sandbox, stream);
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { data: Buffer.alloc(0), size: 0 };
    if (code === 'ELOOP') throw new LogUnavailableError(`${file} is a symlink, not a log file`);
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new LogUnavailableError(`${file} is not a regular file`);
    const length = Math.max(0, Math.min(max, stat.size - offset));
    if (length === 0) return { data: Buffer.alloc(0), size: stat.size };
    const data = Buffer.alloc(length);
    const { bytesRead } = await handle.read(data, 0, length, offset);
    return { data: data.subarray(0, bytesRead), size: stat.size };
  } finally {
    await handle.close();
  }
}
