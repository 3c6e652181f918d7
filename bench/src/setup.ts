// What the suite needs on a fresh machine of this kind (Debian 12, root): crun from apt, the two
// static C programs built with cc into the run's temp dir, temp directories (the runtime dir on
// tmpfs, as in production), and the cleanup that leaves nothing behind even after a failure.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { destroyCgroup, readMounts, unmountHierarchy } from '@corral/cgroupfs';
import { AgentProcess } from './agent-process.ts';

const NATIVE_SOURCES = new URL('./native/', import.meta.url).pathname;

/** argv[0] names of the bench's programs: `comm` shows them, so leftovers are easy to find. */
export const COMMAND_NAME = 'corral-bench-cmd';
const FLOOR_NAME = 'corral-bench-floor';

export interface Workspace {
  /** Prefix of every cgroup this run creates: `corral-bench-<pid>`. */
  readonly runId: string;
  /** Temp dir on disk: the agents' work dirs, logs, the crun bundle, the built programs. */
  readonly diskDir: string;
  /** Temp dir on tmpfs (/dev/shm): the agents' runtime dirs. */
  readonly tmpfsDir: string;
  /** The crun bundle; its rootfs holds the command and the FIFO, so one path serves all. */
  readonly bundleDir: string;
  readonly command: string;
  readonly floor: string;
  readonly fifoPath: string;
  readonly staticBinaries: boolean;
}

export interface MachineInfo {
  readonly date: string;
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly os: string;
  readonly node: string;
  /** The commit the agent was built from, and whether the tree had uncommitted changes. */
  readonly commit: string;
  readonly crun: string | undefined;
  readonly cc: string;
  /** 1-minute load average when the suite started and ended: others share this machine. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

export function isRoot(): boolean {
  return process.geteuid?.() === 0;
}

function run(command: string, args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim(),
  };
}

export function which(command: string): string | undefined {
  const found = run('sh', ['-c', `command -v ${command}`]);
  return found.ok && found.output !== '' ? found.output : undefined;
}

/** Installs Debian packages with apt (root only); returns why it could not. */
function aptInstall(packages: readonly string[]): string | undefined {
  if (!isRoot()) return 'not root, cannot install packages';
  if (which('apt-get') === undefined) return 'no apt-get on this machine';
  console.log(`bench setup: apt-get install -y ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      encoding: 'utf8',
      env,
    });
  let result = install();
  if (result.status !== 0) {
    // A fresh machine may have no package lists yet.
    spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', env });
    result = install();
  }
  return result.status === 0 ? undefined : `apt-get failed: ${result.stderr.trim().slice(-400)}`;
}

/** The crun binary, installed from Debian when missing; or why the crun reference is skipped. */
export function ensureCrun(): { readonly path?: string; readonly skipped?: string } {
  const present = which('crun');
  if (present !== undefined) return { path: present };
  const failure = aptInstall(['crun']);
  const path = which('crun');
  if (path !== undefined) return { path };
  const reason = `crun is not installed and could not be (${failure ?? 'apt-get gave no crun'})`;
  console.log(`bench setup: ${reason}; the crun reference is skipped`);
  return { skipped: reason };
}

function ensureCompiler(): string {
  const present = which('cc');
  if (present !== undefined) return present;
  const failure = aptInstall(['gcc', 'libc6-dev']);
  const path = which('cc');
  if (path === undefined)
    throw new Error(`no C compiler (cc) and none could be installed: ${failure}`);
  return path;
}

/**
 * Compiles one of native/*.c, static when the C library allows (no loader in any launch);
 * `freestanding` without the C library at all.
 */
function compile(source: string, output: string, freestanding = false): boolean {
  const flags = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror'];
  const input = join(NATIVE_SOURCES, source);
  if (freestanding) {
    const extra = ['-ffreestanding', '-fno-stack-protector', '-nostdlib', '-static'];
    const built = run('cc', [...flags, ...extra, '-o', output, input]);
    if (!built.ok) throw new Error(`cc ${source} failed:\n${built.output}`);
    return true;
  }
  if (run('cc', [...flags, '-static', '-o', output, input]).ok) return true;
  const dynamic = run('cc', [...flags, '-o', output, input]);
  if (!dynamic.ok) throw new Error(`cc ${source} failed:\n${dynamic.output}`);
  return false;
}

export function createWorkspace(): Workspace {
  ensureCompiler();
  const runId = `corral-bench-${process.pid}`;
  const diskDir = mkdtempSync(join(tmpdir(), `${runId}-`));
  const tmpfsDir = join('/dev/shm', runId);
  mkdirSync(tmpfsDir, { recursive: true });
  const bundleDir = join(diskDir, 'bundle');
  const rootfs = join(bundleDir, 'rootfs');
  // crun fills /dev of the rootfs with its default devices.
  for (const dir of ['dev', 'proc']) mkdirSync(join(rootfs, dir), { recursive: true });
  const binDir = join(diskDir, 'bin');
  mkdirSync(binDir);
  const built = join(binDir, COMMAND_NAME);
  const staticCommand = compile('command.c', built, true);
  const floor = join(binDir, FLOOR_NAME);
  const staticFloor = compile('floor.c', floor);
  const command = join(rootfs, COMMAND_NAME);
  copyFileSync(built, command);
  chmodSync(command, 0o755);
  return {
    runId,
    diskDir,
    tmpfsDir,
    bundleDir,
    command,
    floor,
    fifoPath: join(rootfs, 'stamp.fifo'),
    staticBinaries: staticCommand && staticFloor,
  };
}

function commitDescription(): string {
  const repo = new URL('../..', import.meta.url).pathname;
  const head = run('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  if (!head.ok) return 'unknown (not a git checkout)';
  // The suite's own outputs do not count: a rerun overwrites them.
  const outputs = [':!BENCHMARKS.md', ':!bench/results'];
  const dirty =
    run('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=no', '--', '.', ...outputs])
      .output !== '';
  return `${head.output}${dirty ? ' with uncommitted changes' : ''}`;
}

export function machineInfo(crun: string | undefined, loadAtStart: number): MachineInfo {
  const osRelease = (() => {
    try {
      return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  })();
  return {
    date: new Date().toISOString(),
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os: osRelease ?? 'unknown',
    node: process.version,
    commit: commitDescription(),
    crun: crun === undefined ? undefined : run(crun, ['--version']).output.split('\n')[0],
    cc: run('cc', ['--version']).output.split('\n')[0] ?? 'unknown',
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? Number.NaN },
  };
}

/** Every cgroup mount (v1 hierarchies, cgroup2, and temp mounts such as crun's hugetlb). */
function cgroupMounts(): string[] {
  return [
    ...new Set(
      readMounts()
        .filter((entry) => entry.type === 'cgroup' || entry.type === 'cgroup2')
        .map((entry) => entry.target),
    ),
  ];
}

/** Top-level cgroups named `<prefix>…` in any hierarchy. */
function findCgroups(prefix: string): { readonly mount: string; readonly name: string }[] {
  const found: { mount: string; name: string }[] = [];
  for (const mount of cgroupMounts()) {
    let names: string[];
    try {
      names = readdirSync(mount);
    } catch {
      continue;
    }
    for (const name of names) if (name.startsWith(prefix)) found.push({ mount, name });
  }
  return found;
}

/**
 * Kills whatever runs in, and removes, every cgroup of this run in every hierarchy: the agents'
 * containers outlive the agents, and a failed run must not leave 1,000 sleeping processes.
 */
export async function sweepCgroups(prefix: string): Promise<string[]> {
  const swept: string[] = [];
  const failures: string[] = [];
  for (const { mount, name } of findCgroups(prefix)) {
    try {
      await destroyCgroup(mount, name, { timeoutMs: 30_000 });
      swept.push(join(mount, name));
    } catch (error) {
      failures.push(`${join(mount, name)}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`cgroup sweep failed:\n${failures.join('\n')}`);
  return swept;
}

export interface LeakReport {
  readonly cgroups: readonly string[];
  readonly processes: readonly string[];
  /** Killed processes of ours not reaped yet by whoever inherited them (PID 1): not a leak. */
  readonly zombies: readonly string[];
  readonly mounts: readonly string[];
  readonly nftTablesBefore: string | undefined;
  readonly nftTablesAfter: string | undefined;
  readonly clean: boolean;
}

export function nftTables(): string | undefined {
  if (which('nft') === undefined) return undefined;
  return run('nft', ['list', 'tables']).output;
}

function ourProcesses(workspace: Workspace): { live: string[]; zombies: string[] } {
  const live: string[] = [];
  const zombies: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const ours =
        comm.startsWith('corral-bench-') ||
        cmdline.includes(workspace.diskDir) ||
        cmdline.includes(workspace.tmpfsDir) ||
        cmdline.includes(workspace.runId);
      if (!ours) continue;
      const line = `${entry} (${comm}, state ${state}, parent ${ppid}) ${cmdline}`.trim();
      if (state === 'Z') zombies.push(line);
      else live.push(line);
    } catch {
      // Gone meanwhile.
    }
  }
  return { live, zombies };
}

/**
 * What this run left: cgroups, processes (by name or by a path of ours), mounts, nft tables.
 * Processes killed a moment ago may still be exiting, so they get a few seconds to go.
 */
export async function leakCheck(
  workspace: Workspace,
  nftBefore: string | undefined,
): Promise<LeakReport> {
  const scan = () => {
    const found = ourProcesses(workspace);
    return { live: [...found.live, ...AgentProcess.survivors()], zombies: found.zombies };
  };
  let processes = scan();
  for (
    let waited = 0;
    waited < 10_000 && processes.live.length + processes.zombies.length > 0;
    waited += 100
  ) {
    await delay(100);
    processes = scan();
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(
      (line) =>
        line.includes(workspace.diskDir) ||
        line.includes(workspace.tmpfsDir) ||
        line.includes(workspace.runId),
    );
  const cgroups = findCgroups(workspace.runId).map(({ mount, name }) => join(mount, name));
  const nftAfter = nftTables();
  return {
    cgroups,
    processes: processes.live,
    zombies: processes.zombies,
    mounts,
    nftTablesBefore: nftBefore,
    nftTablesAfter: nftAfter,
    clean:
      cgroups.length === 0 &&
      processes.live.length === 0 &&
      mounts.length === 0 &&
      nftBefore === nftAfter,
  };
}

/**
 * After an interruption: removes the run's cgroups, unmounts what it mounted under its temp dir
 * (crun's hugetlb hierarchy), and deletes the temp dirs.
 */
export async function releaseWorkspace(workspace: Workspace): Promise<void> {
  await sweepCgroups(workspace.runId);
  for (const mount of readMounts()) {
    if (mount.target.startsWith(workspace.diskDir)) await unmountHierarchy(mount.target);
  }
  rmSync(workspace.tmpfsDir, { recursive: true, force: true });
  rmSync(workspace.diskDir, { recursive: true, force: true });
}
