import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { listeningUrl } from '@corral/test-support/agent-log';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness.ts';

/** How the README runs pnpm. */
const PNPM = ['-y', 'pnpm@12.21.0'];

/**
 * A new operator's shell: the machine's settings (proxy, CA certificates) but an empty HOME, the
 * system's Node, no pnpm/npm/turbo state of this test run and no CORRAL_* settings.
 */
function operatorEnv(home: string, bin: string): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(
    ([name]) => !/^(CORRAL_|npm_|NPM_|PNPM_|TURBO_|VITEST|NODE_OPTIONS$|INIT_CWD$)/i.test(name),
  );
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.includes('/node_modules/'));
  return {
    ...Object.fromEntries(inherited),
    HOME: home,
    PATH: [bin, ...path].join(delimiter),
    CORRAL_BIN_DIR: bin,
  };
}

let dir: string | undefined;
let start: ChildProcess | undefined;

afterEach(async () => {
  if (start?.pid !== undefined && start.exitCode === null && start.signalCode === null) {
    // start.mjs forwards SIGTERM to the agent it started; the group catches npx and pnpm too.
    const exited = once(start, 'exit');
    process.kill(-start.pid, 'SIGTERM');
    await exited;
  }
  start = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('a fresh clone with an empty HOME', () => {
  it("puts a plain `corral` on the PATH with the README's setup command, printing only its own output", async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-fresh-'));
    const clone = join(dir, 'corral');
    const home = join(dir, 'home');
    const bin = join(dir, 'bin');
    expect(
      spawnSync('git', ['clone', '--quiet', REPO_ROOT, clone], { encoding: 'utf8' }).status,
    ).toBe(0);
    mkdirSync(home);
    const env = operatorEnv(home, bin);
    const install = spawnSync('npx', [...PNPM, 'install', '--frozen-lockfile'], {
      cwd: clone,
      env,
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(install.status, install.stderr + install.stdout).toBe(0);

    start = spawn(
      'npx',
      [
        ...PNPM,
        'start',
        '--port=0',
        '--launcher=posix',
        '--isolation=posix/cpu,posix/mem',
        `--work_dir=${join(dir, 'work')}`,
        `--runtime_dir=${join(dir, 'run')}`,
      ],
      { cwd: clone, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
    );
    const logs: string[] = [];
    const url = await listeningUrl(start, logs);
    expect(existsSync(join(bin, 'corral'))).toBe(true);

    const corral = (...args: string[]) =>
      spawnSync('corral', args, { env: { ...env, CORRAL_AGENT: url }, encoding: 'utf8' });
    const version = corral('--version');
    const cliVersion = (
      JSON.parse(readFileSync(join(clone, 'apps/cli/package.json'), 'utf8')) as { version: string }
    ).version;
    expect(version.stdout).toBe(`corral ${cliVersion}\n`);
    expect(version.stderr).toBe('');
    expect(version.status).toBe(0);

    // The agent may still be recovering: `corral` waits for that itself.
    const ps = corral('ps');
    expect(ps.stderr).toBe('');
    expect(ps.stdout).toMatch(/^ID +STATE +PID +CLASSID +AGE +CPU\(s\) +RSS\n$/);
    expect(ps.status).toBe(0);
  }, 420_000);
});
