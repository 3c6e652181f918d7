// The README's "run" command: builds the agent and the CLI if needed (turbo caches them), puts
// `corral` on the PATH (link-cli.mjs) and starts the agent with a sensible default for this machine. Extra arguments are passed to the agent and win.
//   as root with net_cls and IPC namespaces: full isolation with managed net_cls handles, and
//     real CPU, memory and process limits (cgroups/cpu,mem,pids) where the kernel has those
//     controllers, else usage only (posix/cpu,mem);
//   otherwise: posix/cpu,posix/mem, saying why.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function missingForFullIsolation() {
  if (process.platform !== 'linux') return `this is ${process.platform}, not Linux`;
  if (process.getuid?.() !== 0) return 'not running as root';
  if (!existsSync('/proc/self/ns/ipc')) return 'the kernel has no IPC namespaces';
  const netCls = readFileSync('/proc/cgroups', 'utf8')
    .split('\n')
    .map((line) => line.split('\t'))
    .find((fields) => fields[0] === 'net_cls');
  if (netCls?.[3] !== '1') return 'the net_cls cgroup subsystem is not enabled';
  return undefined;
}

/** The resource controllers, on cgroup v1 (/proc/cgroups) or in the cgroup v2 hierarchy. */
function hasResourceControllers() {
  const v1 = readFileSync('/proc/cgroups', 'utf8')
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((fields) => fields[3] === '1' && fields[1] !== '0')
    .map((fields) => fields[0]);
  const v2File = [
    '/sys/fs/cgroup/cgroup.controllers',
    '/sys/fs/cgroup/unified/cgroup.controllers',
  ].find((file) => existsSync(file));
  const v2 = v2File ? readFileSync(v2File, 'utf8').trim().split(/\s+/) : [];
  const has = (v1Names, v2Name) =>
    v1Names.every((name) => v1.includes(name)) || v2.includes(v2Name);
  return has(['cpu', 'cpuacct'], 'cpu') && has(['memory'], 'memory') && has(['pids'], 'pids');
}

const missing = missingForFullIsolation();
const root = process.getuid?.() === 0;
const defaults = missing
  ? ['--isolation=posix/cpu,posix/mem', '--launcher=posix']
  : [
      `--isolation=cgroups/net_cls,namespaces/ipc,${
        hasResourceControllers() ? 'cgroups/cpu,cgroups/mem,cgroups/pids' : 'posix/cpu,posix/mem'
      }`,
      '--cgroups_net_cls_primary_handle=0x19',
    ];
const dirs = root
  ? ['--work_dir=/var/lib/corral', '--runtime_dir=/run/corral']
  : [
      `--work_dir=${join(homedir(), '.corral', 'work')}`,
      `--runtime_dir=${join(homedir(), '.corral', 'run')}`,
    ];
if (missing) console.error(`corral: starting with posix/cpu,posix/mem only: ${missing}`);

const build = spawnSync(
  'turbo',
  [
    'run',
    'build',
    '--filter=@corral/agent...',
    '--filter=@corral/cli',
    '--output-logs=errors-only',
  ],
  { stdio: 'inherit' },
);
if (build.status !== 0) process.exit(build.status ?? 1);
await import('./link-cli.mjs');

const extra = process.argv.slice(2).filter((arg) => arg !== '--');
const given = new Set(extra.map((arg) => arg.split('=')[0]));
// The handle belongs to cgroups/net_cls: without it in a given --isolation, the flag is an error.
const ownIsolation = extra.find((arg) => arg.startsWith('--isolation='));
const args = [...defaults, ...dirs]
  .filter((arg) => !given.has(arg.split('=')[0]))
  .filter(
    (arg) =>
      !arg.startsWith('--cgroups_net_cls_') ||
      ownIsolation === undefined ||
      ownIsolation.includes('cgroups/net_cls'),
  );
const agent = spawn(process.execPath, ['apps/agent/bin/corral-agent.js', ...args, ...extra], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => agent.kill(signal));
agent.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
