import { constants } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type FileEntry, FilesError, type SandboxFiles } from '../files/sandbox-files.ts';
import { sendJson } from './jsonp.ts';

/** How server.ts registers a read-only GET route. */
type GetRoute = (
  path: string,
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
) => void;

const TYPE_CHARS: readonly [number, string][] = [
  [constants.S_IFDIR, 'd'],
  [constants.S_IFLNK, 'l'],
  [constants.S_IFCHR, 'c'],
  [constants.S_IFBLK, 'b'],
  [constants.S_IFIFO, 'p'],
  [constants.S_IFSOCK, 's'],
];

/** `st_mode` as `ls -l` writes it, which is what Mesos' v0 file model shows (`drwxr-xr-x`). */
export function modeString(mode: number): string {
  const kind = TYPE_CHARS.find(([bits]) => (mode & constants.S_IFMT) === bits)?.[1] ?? '-';
  let permissions = '';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    permissions += `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  }
  return kind + permissions;
}

const v0Entry = (entry: FileEntry) => ({ ...entry, mode: modeString(entry.mode) });

/** A whole number query parameter from -1 up, as Mesos' `/files/read` takes offset and length. */
function position(value: unknown, name: 'offset' | 'length'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?\d{1,15}$/.test(value)) {
    throw new FilesError(400, `Failed to parse ${name}: ${JSON.stringify(value)} is not a number`);
  }
  const number = Number(value);
  if (number < -1) throw new FilesError(400, `Negative ${name} provided: ${number}`);
  return number;
}

/** `/files/{browse,read,download,debug}` (Mesos' files process), read-only. */
export function registerFileRoutes(get: GetRoute, files: SandboxFiles): void {
  const answer =
    (handler: (path: string, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { path } = request.query as Record<string, unknown>;
      if (typeof path !== 'string' || path === '') {
        return reply.code(400).type('text/plain').send("Expecting 'path=value' in query.");
      }
      try {
        return await handler(path, request, reply);
      } catch (error) {
        if (error instanceof FilesError) {
          return reply.code(error.status).type('text/plain').send(error.message);
        }
        throw error;
      }
    };
  const query = (request: FastifyRequest) => request.query as Record<string, unknown>;

  get(
    '/files/browse',
    answer(async (path, request, reply) =>
      sendJson(request, reply, (await files.list(path)).map(v0Entry)),
    ),
  );

  get(
    '/files/read',
    answer(async (path, request, reply) => {
      const offset = position(query(request).offset, 'offset') ?? -1;
      const length = position(query(request).length, 'length');
      // offset -1 (or none) asks only for the size, answered as the offset.
      const sizeOnly = offset === -1;
      const chunk = await files.read(
        path,
        sizeOnly ? 0 : offset,
        sizeOnly ? 0 : length === -1 ? undefined : length,
      );
      return sendJson(request, reply, {
        offset: sizeOnly ? chunk.size : offset,
        data: chunk.data.toString('utf8'),
      });
    }),
  );

  get(
    '/files/download',
    answer(async (path, _request, reply) => {
      const { name, stream } = await files.download(path);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename=${JSON.stringify(name)}`)
        .send(stream);
    }),
  );

  get('/files/debug', async (request, reply) => sendJson(request, reply, files.debug()));
}
