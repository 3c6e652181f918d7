import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCgroup, findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningAgent, startAgent, type WaitJson } from './agent-process.ts';

/**
 * The third-party promise, end to end: isolator packages packed as tarballs, installed with npm
 * into a directory outside the workspace, found by the built agent through --modules_dir.
 */
const WORKSPACE = fileURLToPath(new URL('../../..', import.meta.url));
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')),
);

function run(cwd: string, command: string, args: readonly string[]): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** `pnpm pack` (turns workspace: ranges into versions), returning the tarball path. */
function pack(packageDir: string, destination: string): string {
  run(packageDir, 'pnpm', ['pack', '--pack-destination', destination]);
  const name = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')).name as string;
  const prefix = name.replace('@', '').replace('/', '-');
  const tarball = readdirSync(destination).find(
    (file) => file.startsWith(prefix) && file.endsWith('.tgz'),
  );
  if (!tarball) throw new Error(`no tarball for ${name} in ${destination}`);
  return join(destination, tarball);
}

let dir: string;
let modulesDir: string;
let agent: RunningAgent | undefined;
const cgroupsRoot = `corral-test-${process.pid}-modules`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-modules-dir-'));
  modulesDir = join(dir, 'isolators');
  mkdirSync(join(dir, 'tarballs'));
  mkdirSync(modulesDir);

  // A package made by the scaffold, built with the workspace's compiler against the built core.
  const scaffolded = join(dir, 'acme-quota');
  run(WORKSPACE, process.execPath, [
    join(WORKSPACE, 'packages/isolator-testkit/bin/create-corral-isolator.js'),
    'acme/quota',
    scaffolded,
  ]);
  const link = (name: string, target: string) => {
    const path = join(scaffolded, 'node_modules', name);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(realpathSync(target), path);
  };
  link('@corral/core', join(WORKSPACE, 'packages/core'));
  link('typescript', join(WORKSPACE, 'node_modules/typescript'));
  link('@types/node', join(WORKSPACE, 'node_modules/@types/node'));
  run(scaffolded, process.execPath, [
    'node_modules/typescript/bin/tsc',
    '-p',
    'tsconfig.build.json',
  ]);

  const tarballs = [
    pack(join(WORKSPACE, 'packages/core'), join(dir, 'tarballs')),
    pack(join(WORKSPACE, 'packages/isolator-posix-rlimits'), join(dir, 'tarballs')),
    run(scaffolded, 'npm', ['pack', '--pack-destination', join(dir, 'tarballs')])
      .stdout.trim()
      .split('\n')
      .at(-1) ?? '',
  ].map((tarball) => (tarball.startsWith('/') ? tarball : join(dir, 'tarballs', tarball)));
  writeFileSync(join(modulesDir, 'package.json'), '{"name":"corral-isolators","private":true}');
  run(modulesDir, 'npm', ['install', '--no-audit', '--no-fund', '--omit=dev', ...tarballs]);
}, 300_000);

afterAll(async () => {
  await agent?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of [findCgroup2Mount(), findV1Hierarchy('freezer')]) {
    if (hierarchy) await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
});

describeOnKernel(
  'isolators installed from tarballs into --modules_dir',
  { root: true, commands: ['npm'] },
  () => {
    it('loads posix/rlimits and applies RLMT_NOFILE 64/128 inside the container', async () => {
      agent = await startAgent([
        `--work_dir=${join(dir, 'work')}`,
        `--runtime_dir=${join(dir, 'run')}`,
        `--cgroups_root=${cgroupsRoot}`,
        `--modules_dir=${modulesDir}`,
        '--isolation=posix/rlimits,posix/cpu,acme/quota',
      ]);
      const launched = await agent.call({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: 'limited' },
          command: { value: 'ulimit -n; ulimit -Hn' },
          container: {
            type: 'MESOS',
            rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }] },
          },
        },
      });
      expect(launched.status).toBe(200);
      const waited = await agent.call({
        type: 'WAIT_CONTAINER',
        wait_container: { container_id: { value: 'limited' } },
      });
      expect(((await waited.json()) as WaitJson).wait_container.exit_status).toBe(0);
      expect(readFileSync(join(dir, 'work', 'containers', 'limited', 'stdout'), 'utf8')).toBe(
        '64\n128\n',
      );

      // A plugin's own validation error (from its own copy of @corral/core) is a 400, not a 500.
      const refused = await agent.call({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: 'bad-limits' },
          command: { value: 'true' },
          container: {
            type: 'MESOS',
            rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 256, hard: 128 }] },
          },
        },
      });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toMatch(
        /RLMT_NOFILE soft limit 256 is above its hard limit 128/,
      );
      await agent.stop('SIGTERM');
    });
  },
);
