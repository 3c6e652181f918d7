import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
let dir: string | undefined;

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error}`);
  }
  return result.stdout;
}

// Installed from the registry, the launcher has no build step: the helper must be in the tarball.
it('packs the compiled native helper, executable, with the sources to rebuild it', () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-pack-'));
  run('pnpm', ['pack', '--pack-destination', dir], PACKAGE_DIR);
  const tarball = readdirSync(dir).find((file) => file.endsWith('.tgz')) ?? '';
  // `tar tv` lines: mode, owner, size, date, time, path.
  const entries = new Map(
    run('tar', ['tzvf', join(dir, tarball)], dir)
      .trim()
      .split('\n')
      .map((line) => {
        const fields = line.trim().split(/\s+/);
        return [fields.at(-1) ?? '', fields[0] ?? ''] as const;
      }),
  );
  expect(entries.get('package/native/build/corral-init')).toMatch(/^-rwx/);
  for (const source of ['native/build.sh', 'native/spawner.c', 'native/init.c', 'dist/index.js'])
    expect(entries.has(`package/${source}`), source).toBe(true);
  // Nothing half-built or test-only.
  expect(
    [...entries.keys()].filter((path) => /build\/corral-init\.|\.test\.ts$/.test(path)),
  ).toEqual([]);
});
