import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The proof that a scaffolded package passes its tests as generated: the real command writes it
 * into a temp dir outside the workspace (no workspace tsconfig, vitest config or source
 * condition applies there); its dependencies are linked to what `npm install` would fetch, built
 * from this workspace (@corral/core and this testkit from their dist/); then its own scripts run.
 */
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const WORKSPACE = join(PACKAGE_DIR, '..', '..');
const BIN = join(PACKAGE_DIR, 'bin', 'create-corral-isolator.js');

/** Node without the variables of the vitest run this test is part of. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'TEST'),
);

function run(cwd: string, args: readonly string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

function expectSuccess(result: SpawnSyncReturns<string>): void {
  expect(result.error).toBeUndefined();
  expect(`exit ${result.status}\n${result.stdout}\n${result.stderr}`).toMatch(/^exit 0\n/);
}

describe('a scaffolded isolator package, outside the workspace', () => {
  let dir: string;
  let pkg: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-scaffold-'));
    pkg = join(dir, 'acme-quota');
    // Relative to INIT_CWD, as when run through `pnpm new-isolator` from another directory.
    expectSuccess(
      spawnSync(process.execPath, [BIN, 'acme/quota', './acme-quota'], {
        cwd: WORKSPACE,
        env: { ...env, INIT_CWD: dir },
        encoding: 'utf8',
      }),
    );
    const link = (name: string, target: string) => {
      const path = join(pkg, 'node_modules', name);
      mkdirSync(dirname(path), { recursive: true });
      symlinkSync(realpathSync(target), path);
    };
    link('@corral/core', join(WORKSPACE, 'packages', 'core'));
    link('@corral/isolator-testkit', PACKAGE_DIR);
    for (const tool of ['vitest', 'typescript', '@types/node']) {
      link(tool, join(WORKSPACE, 'node_modules', tool));
    }
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('typechecks', () => {
    expectSuccess(run(pkg, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']));
  });

  it('passes its tests, the conformance suite among them', () => {
    const report = join(dir, 'report.json');
    expectSuccess(
      run(pkg, [
        'node_modules/vitest/vitest.mjs',
        'run',
        '--reporter=json',
        `--outputFile=${report}`,
      ]),
    );
    const results = JSON.parse(readFileSync(report, 'utf8'));
    expect(results.numFailedTests).toBe(0);
    expect(results.numPendingTests).toBe(0);
    const names: string[] = results.testResults.flatMap(
      (file: { assertionResults: { fullName: string }[] }) =>
        file.assertionResults.map((test) => test.fullName),
    );
    expect(names).toContain(
      'isolator contract: corral-isolator-acme-quota acme/quota: lifecycle recover with states and orphans rebuilds state so that cleanup works afterwards',
    );
    expect(results.numPassedTests).toBe(names.length);
  });

  it('builds to a dist/ whose default export the agent loads with plain node', () => {
    expectSuccess(run(pkg, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']));
    const load = run(pkg, [
      '--input-type=module',
      '--eval',
      `import { validateManifest } from '@corral/core';
       const { default: manifest } = await import(${JSON.stringify(join(pkg, 'dist', 'index.js'))});
       console.log(JSON.stringify(validateManifest(manifest, 'acme-quota').isolators.map((i) => i.name)));`,
    ]);
    expectSuccess(load);
    expect(JSON.parse(load.stdout)).toEqual(['acme/quota']);
  });
});
