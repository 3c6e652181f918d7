import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness.ts';

describe('pnpm release:check', () => {
  it('versions (changeset version, in a clone), packs, installs with npm and runs every public package', () => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/release-check.mjs')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(result.stderr).toContain('every public package packs, installs with npm, imports');
    expect(result.status, result.stderr).toBe(0);
    // The bins report the versions the changesets gave them, not 0.0.0.
    expect(result.stderr).toMatch(/^release:check: corral-agent \d+\.\d+\.\d+$/m);
    expect(result.stderr).toMatch(/^release:check: corral \d+\.\d+\.\d+$/m);
    expect(result.stderr).not.toMatch(/ 0\.0\.0$/m);
  }, 600_000);
});
