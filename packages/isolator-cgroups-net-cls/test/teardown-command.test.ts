import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../bin/corral-net-cls-egress-teardown.js', import.meta.url).pathname;
const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };
const run = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('corral-net-cls-egress-teardown', () => {
  it('answers --version and --help without touching anything', () => {
    expect(run('--version').stdout).toBe(`corral-net-cls-egress-teardown ${version}\n`);
    expect(run('--help').stdout).toMatch(
      /^Usage: corral-net-cls-egress-teardown \[<runtime_dir>\]/,
    );
  });

  it('refuses an option it does not know, naming it, instead of taking it for a directory', () => {
    const result = run('--force');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unexpected argument '--force'/);
  });
});
