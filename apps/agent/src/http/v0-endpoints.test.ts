import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stubAgent } from '../../test/stub-agent.ts';
import { SandboxFiles } from '../files/sandbox-files.ts';
import { modeString } from './files.ts';
import { buildServer } from './server.ts';

let app: FastifyInstance;
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'corral-v0-'));
  const sandbox = join(root, 'containers', 'c1');
  mkdirSync(sandbox, { recursive: true });
  writeFileSync(join(sandbox, 'stdout'), 'hello\nworld\n');
  writeFileSync(join(root, 'secret'), 'outside');
  symlinkSync(join(root, 'secret'), join(sandbox, 'escape'));
  const files = new SandboxFiles({
    sandboxesDir: join(root, 'containers'),
    frameworkId: 'corral-local',
    sandboxOf: (id) => (id === 'c1' ? sandbox : undefined),
    containers: () => ['c1'],
  });
  app = buildServer({ agent: stubAgent({ files }).agent, auth: {} });
});

afterEach(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (url: string) => app.inject({ method: 'GET', url });
const LATEST = '/frameworks/corral-local/executors/c1/runs/latest';

describe('the v0 JSON endpoints', () => {
  it('answer application/json without a charset, and the agent-process ones also under /slave(1)', async () => {
    for (const path of [
      '/state',
      '/containers',
      '/flags',
      '/monitor/statistics',
      '/containerizer/debug',
    ]) {
      for (const url of [path, `/slave(1)${path}`]) {
        const response = await get(url);
        expect([response.statusCode, response.headers['content-type']], url).toEqual([
          200,
          'application/json',
        ]);
      }
    }
    expect((await get('/slave(1)/health')).statusCode).toBe(200);
    expect((await get('/version')).json()).toEqual({ version: '1.2.3' });
    expect((await get('/monitor/statistics')).json()).toEqual([
      { executor_id: 'c1', statistics: { timestamp: 1 } },
    ]);
    expect((await get('/containerizer/debug')).json()).toEqual({ pending: [] });
    const v1 = await app.inject({
      method: 'POST',
      url: '/slave(1)/api/v1',
      headers: { 'content-type': 'application/json' },
      payload: '{"type":"GET_HEALTH"}',
    });
    expect(v1.json()).toEqual({ type: 'GET_HEALTH', get_health: { healthy: true } });
  });

  it('wrap the answer for ?jsonp=<callback>, and refuse a callback that is not a JavaScript name', async () => {
    const wrapped = await get('/state?jsonp=angular.callbacks._0');
    expect(wrapped.headers['content-type']).toBe('text/javascript');
    expect(wrapped.body).toBe('angular.callbacks._0({"frameworks":[]});');
    expect((await get('/containers?jsonp=cb')).body).toBe('cb([{"container_id":"c1"}]);');
    for (const callback of ['alert(1)//', '1cb', 'a b', '</script>', 'cb;x']) {
      const refused = await get(`/flags?jsonp=${encodeURIComponent(callback)}`);
      expect(refused.statusCode, callback).toBe(400);
      expect(refused.body).toContain(JSON.stringify(callback));
      expect(refused.headers['content-type']).toMatch(/^text\/plain/);
    }
  });
});

describe('/files/*', () => {
  it('browses, reads, downloads and maps the sandbox', async () => {
    const listing = (await get(`/files/browse?path=${LATEST}`)).json();
    expect(listing).toContainEqual(
      expect.objectContaining({ path: `${LATEST}/stdout`, size: 12, mode: '-rw-r--r--' }),
    );
    expect((await get(`/files/read?path=${LATEST}/stdout&offset=6`)).json()).toEqual({
      offset: 6,
      data: 'world\n',
    });
    expect((await get(`/files/read?path=${LATEST}/stdout&offset=0&length=5`)).json()).toEqual({
      offset: 0,
      data: 'hello',
    });
    expect((await get(`/files/read?path=${LATEST}/stdout`)).json()).toEqual({
      offset: 12,
      data: '',
    });
    const download = await get(`/files/download?path=${LATEST}/stdout`);
    expect(download.headers['content-disposition']).toBe('attachment; filename="stdout"');
    expect(download.body).toBe('hello\nworld\n');
    expect((await get('/files/debug')).json()).toMatchObject({
      [LATEST]: join(root, 'containers', 'c1'),
    });
  });

  it('refuses .., symlinks out of the sandbox, bad numbers, and answers 404 for what is not there', async () => {
    for (const [url, status] of [
      ['/files/browse', 400],
      [`/files/read?path=${LATEST}/../../c2/runs/latest/stdout`, 400],
      [`/files/read?path=${LATEST}/escape`, 400],
      [`/files/download?path=${LATEST}/escape`, 400],
      [`/files/read?path=${LATEST}/stdout&offset=-2`, 400],
      [`/files/read?path=${LATEST}/stdout&length=x`, 400],
      [`/files/read?path=${LATEST}/nope`, 404],
      ['/files/read?path=/etc/passwd', 404],
      [`/files/browse?path=${join(root, 'secret')}`, 404],
    ] as const) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(status);
      expect(response.body).not.toContain('outside');
    }
  });

  it('writes modes as ls does', () => {
    expect(modeString(0o40755)).toBe('drwxr-xr-x');
    expect(modeString(0o100600)).toBe('-rw-------');
    expect(modeString(0o120777)).toBe('lrwxrwxrwx');
  });
});

describe('/api/v1 with random bodies', () => {
  it('never answers a 5xx to random protobuf or JSON bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 128 }),
        fc.constantFrom('application/x-protobuf', 'application/json'),
        async (bytes, contentType) => {
          const response = await app.inject({
            method: 'POST',
            url: '/api/v1',
            headers: { 'content-type': contentType },
            payload: Buffer.from(bytes),
          });
          expect(response.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: 500 },
    );
  });
});
