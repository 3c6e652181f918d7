import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesError, MAX_READ_BYTES, SandboxFiles } from './sandbox-files.ts';

let root: string;
let files: SandboxFiles;
let sandboxes: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'corral-files-'));
  sandboxes = join(root, 'containers');
  const sandbox = join(sandboxes, 'web');
  mkdirSync(join(sandbox, 'data'), { recursive: true });
  writeFileSync(join(sandbox, 'stdout'), 'hello\n');
  writeFileSync(join(sandbox, 'big'), Buffer.alloc(MAX_READ_BYTES * 2, 'x'));
  writeFileSync(join(root, 'secret'), 'outside');
  writeFileSync(join(root, 'agent.log'), 'log line\n');
  symlinkSync(join(root, 'secret'), join(sandbox, 'escape'));
  symlinkSync(root, join(sandbox, 'data', 'up'));
  symlinkSync('stdout', join(sandbox, 'alias'));
  files = new SandboxFiles({
    sandboxesDir: sandboxes,
    frameworkId: 'corral-local',
    sandboxOf: (id) => (id === 'web' ? sandbox : undefined),
    containers: () => ['web'],
    agentLog: () => join(root, 'agent.log'),
  });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FilesError);
  return { status: (error as FilesError).status, message: (error as FilesError).message };
};

describe('SandboxFiles', () => {
  it('lists and reads a sandbox under each of its virtual paths, and the agent log', async () => {
    const latest = '/frameworks/corral-local/executors/web/runs/latest';
    for (const base of [
      latest,
      '/frameworks/corral-local/executors/web/runs/web',
      join(sandboxes, 'web'),
    ]) {
      const names = (await files.list(base)).map((entry) => entry.path);
      expect(names).toContain(`${base}/stdout`);
      expect((await files.read(`${base}/stdout`, 0)).data.toString()).toBe('hello\n');
    }
    expect((await files.read(`${latest}/stdout`, 2, 3)).data.toString()).toBe('llo');
    expect((await files.read('/slave/log', 0)).data.toString()).toBe('log line\n');
    const big = await files.read(`${latest}/big`, 0);
    expect([big.size, big.data.length]).toEqual([MAX_READ_BYTES * 2, MAX_READ_BYTES]);
    expect(Object.keys(files.debug())).toEqual(
      expect.arrayContaining(['/slave/log', latest, join(sandboxes, 'web')]),
    );
  });

  it('refuses .., relative paths, symlinks out of the sandbox and unknown paths', async () => {
    const latest = '/frameworks/corral-local/executors/web/runs/latest';
    expect(await refusal(files.read(`${latest}/../../other/runs/latest/stdout`, 0))).toMatchObject({
      status: 400,
      message: expect.stringContaining("'..'"),
    });
    expect(await refusal(files.list('frameworks/corral-local'))).toMatchObject({ status: 400 });
    expect(await refusal(files.read(`${latest}/escape`, 0))).toMatchObject({
      status: 400,
      message: expect.stringContaining('is a symlink'),
    });
    expect(await refusal(files.read(`${latest}/data/up/secret`, 0))).toMatchObject({
      status: 400,
      message: expect.stringContaining('leads out of its sandbox'),
    });
    expect(await refusal(files.list(`${latest}/data/up`))).toMatchObject({ status: 400 });
    for (const missing of [
      `${latest}/nope`,
      '/etc/passwd',
      join(root, 'secret'),
      '/frameworks/corral-local/executors/gone/runs/latest',
    ]) {
      expect(await refusal(files.read(missing, 0)), missing).toMatchObject({ status: 404 });
    }
    expect(await refusal(files.read(latest, 0))).toMatchObject({
      status: 400,
      message: 'Cannot read a directory',
    });
  });
});
