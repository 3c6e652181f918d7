import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assignProcess,
  cgroupExists,
  createCgroup,
  destroyCgroup,
  findCgroup2Mount,
  findV1Hierarchy,
} from '@corral/cgroupfs';
import type { ContainerID, Isolator } from '@corral/core';
import posix from '@corral/isolator-posix';
import { createLauncher, LaunchError } from '@corral/launcher';
import { isRunning } from '@corral/procfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Containerizer, type NamedIsolator } from '../src/index.ts';

let dir: string;
let cgroupsRoot: string;
let unified: string;
let probeHierarchy: string | undefined;
const engines: Containerizer[] = [];
const children: ChildProcess[] = [];

const posixIsolators = async (): Promise<NamedIsolator[]> =>
  Promise.all(
    posix.isolators.map(async (definition) => ({
      name: definition.name,
      isolator: await definition.create(
        {},
        {
          name: definition.name,
          logger: { debug() {}, info() {}, warn() {}, error() {} },
          runtimeDir: dir,
          cgroups: { hierarchy: '/sys/fs/cgroup', root: cgroupsRoot },
          agent: { workDir: dir, runtimeDir: dir },
        },
      ),
    })),
  );

function engine(isolators: NamedIsolator[]): Containerizer {
  const containerizer = new Containerizer({
    runtimeDir: join(dir, 'run'),
    launcher: createLauncher({ kind: 'linux', cgroupsRoot }),
    isolators,
  });
  engines.push(containerizer);
  return containerizer;
}

/**
 * Runs test/fixtures/engine.ts (a containerizer in its own process, so a test can SIGKILL it like
 * a crashed agent) and resolves with it and the first line it prints.
 */
async function startEngine(
  args: readonly string[],
): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@corral/source', '--import', 'tsx', 'test/fixtures/engine.ts', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const line = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (data: Buffer) => resolve(data.toString())),
  );
  return { child, line };
}

const sandbox = (name: string) => join(dir, 'sandboxes', name);
const request = (name: string, command: string) => ({
  command_info: { value: command },
  directory: sandbox(name),
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-containerizer-it-'));
  cgroupsRoot = `corral-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  unified = findCgroup2Mount() ?? '/sys/fs/cgroup/unified';
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const containerizer of engines.splice(0)) {
    await Promise.allSettled(containerizer.list().map((id) => containerizer.destroy(id)));
  }
  await destroyCgroup(unified, cgroupsRoot, { timeoutMs: 10_000 });
  if (probeHierarchy)
    await destroyCgroup(probeHierarchy, `${cgroupsRoot}-probe`, { timeoutMs: 10_000 });
  probeHierarchy = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describeOnKernel('containerizer on the real kernel', { root: true, cgroup2: true }, () => {
  it('never runs the command un-isolated', async () => {
    // A v1 hierarchy: in v2 the launcher's tracking cgroup is the container's only place.
    const pids = findV1Hierarchy('pids') ?? '/sys/fs/cgroup/pids';
    const probe = `${cgroupsRoot}-probe`;
    probeHierarchy = pids;
    let isolatedAt = 0;
    const slowIsolator: Isolator = {
      isolate: async (_id: ContainerID, pid: number) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        createCgroup(pids, probe);
        assignProcess(pids, probe, pid);
        isolatedAt = Date.now();
      },
    };
    const containerizer = engine([{ name: 'test/slow', isolator: slowIsolator }]);
    mkdirSync(sandbox('iso'), { recursive: true });
    await containerizer.launch(
      { value: 'iso' },
      request('iso', 'date +%s%3N > started; cat /proc/self/cgroup > cgroups; sleep 30'),
    );
    await expect
      .poll(
        () =>
          existsSync(join(sandbox('iso'), 'cgroups')) &&
          readFileSync(join(sandbox('iso'), 'cgroups'), 'utf8'),
      )
      .toBeTruthy();
    const startedAt = Number(readFileSync(join(sandbox('iso'), 'started'), 'utf8'));
    expect(startedAt).toBeGreaterThanOrEqual(isolatedAt - 1);
    expect(readFileSync(join(sandbox('iso'), 'cgroups'), 'utf8')).toMatch(
      new RegExp(`:pids:/${probe}\n`),
    );
  });

  it('destroys a forked tree including a daemonised grandchild', async () => {
    const containerizer = engine(await posixIsolators());
    await containerizer.launch(
      { value: 'tree' },
      // Single quotes: `$!` must be the daemon's pid, expanded by the inner shell; the file is
      // renamed into place so it is never read half written.
      request(
        'tree',
        "sleep 300 & sleep 300 & setsid sh -c 'sleep 300 & echo $! > d.tmp && mv d.tmp daemon' & wait",
      ),
    );
    await expect.poll(() => existsSync(join(sandbox('tree'), 'daemon'))).toBe(true);
    const daemon = Number(readFileSync(join(sandbox('tree'), 'daemon'), 'utf8'));
    expect(isRunning(daemon)).toBe(true);
    const usage = await containerizer.usage({ value: 'tree' });
    expect(usage.processes).toBeGreaterThanOrEqual(4);
    const termination = await containerizer.destroy({ value: 'tree' });
    expect(termination).toMatchObject({ status: 9, state: 'TASK_KILLED' });
    // It left the cgroup on its way out; it may take a moment more to be a zombie.
    await expect.poll(() => isRunning(daemon)).toBe(false);
    expect(cgroupExists(unified, `${cgroupsRoot}/tree`)).toBe(false);
    expect(existsSync(join(dir, 'run', 'containers', 'tree'))).toBe(false);
  });

  it('reports the exit code of a command and refuses a command that does not exist', async () => {
    const containerizer = engine(await posixIsolators());
    await containerizer.launch({ value: 'exit3' }, request('exit3', 'exit 3'));
    expect(await containerizer.wait({ value: 'exit3' })).toMatchObject({
      status: 768,
      state: 'TASK_FAILED',
    });
    await expect(
      containerizer.launch(
        { value: 'nosuch' },
        {
          command_info: { shell: false, value: '/nonexistent/program' },
          directory: sandbox('nosuch'),
        },
      ),
    ).rejects.toThrow(LaunchError);
    expect(containerizer.list()).toEqual([]);
    expect(readdirSync(join(dir, 'run', 'containers'))).toEqual([]);
    expect(cgroupExists(unified, `${cgroupsRoot}/nosuch`)).toBe(false);
  });

  it('recovers a running container after the engine is SIGKILLed and notices its exit', async () => {
    mkdirSync(sandbox('crash'), { recursive: true });
    const command = `while [ ! -f ${sandbox('crash')}/go ]; do sleep 0.05; done; exit 7`;
    const { child, line } = await startEngine([
      join(dir, 'run'),
      cgroupsRoot,
      'crash',
      sandbox('crash'),
      command,
    ]);
    const pid = Number(/launched (\d+)/.exec(line)?.[1]);
    child.kill('SIGKILL');

    const recovered = engine(await posixIsolators());
    const result = await recovered.recover();
    expect(result.recovered).toEqual([{ value: 'crash' }]);
    expect(recovered.snapshot({ value: 'crash' })).toMatchObject({ state: 'RUNNING', pid });
    expect((await recovered.status({ value: 'crash' })).executor_pid).toBe(pid);
    const waited = recovered.wait({ value: 'crash' });
    const signalled = Date.now();
    writeFileSync(join(sandbox('crash'), 'go'), '');
    expect(await waited).toMatchObject({ status: 7 << 8, state: 'TASK_FAILED' });
    expect(Date.now() - signalled).toBeLessThan(1000);
  });

  it('destroys orphans: a runtime dir without a checkpointed init, and an unknown tracking cgroup', async () => {
    mkdirSync(join(dir, 'run', 'containers', 'halfway'), { recursive: true });
    writeFileSync(
      join(dir, 'run', 'containers', 'halfway', 'launch.json'),
      JSON.stringify({ config: request('halfway', 'true'), launch_info: {} }),
    );
    createCgroup(unified, `${cgroupsRoot}/stray`);
    const stray = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(stray);
    assignProcess(unified, `${cgroupsRoot}/stray`, stray.pid ?? 0);

    const containerizer = engine(await posixIsolators());
    const result = await containerizer.recover();
    expect(result.orphans.map((id) => id.value).sort()).toEqual(['halfway', 'stray']);
    expect(existsSync(join(dir, 'run', 'containers', 'halfway'))).toBe(false);
    expect(cgroupExists(unified, `${cgroupsRoot}/stray`)).toBe(false);
    await expect.poll(() => isRunning(stray.pid ?? 0)).toBe(false);
    expect(containerizer.list()).toEqual([]);
  });

  it('leaves nothing behind when the engine dies between fork and isolate', async () => {
    mkdirSync(sandbox('torn'), { recursive: true });
    const { child, line } = await startEngine([
      join(dir, 'run'),
      cgroupsRoot,
      'torn',
      sandbox('torn'),
      'touch ran; sleep 300',
      'hang',
    ]);
    const pid = Number(/isolating (\d+)/.exec(line)?.[1]);
    expect(isRunning(pid)).toBe(true);
    child.kill('SIGKILL');
    // The init sees EOF on its sync pipe and exits without running the command.
    await expect.poll(() => isRunning(pid)).toBe(false);

    const containerizer = engine(await posixIsolators());
    await containerizer.recover();
    await expect.poll(() => containerizer.list()).toEqual([]);
    expect(existsSync(join(sandbox('torn'), 'ran'))).toBe(false);
    expect(existsSync(join(dir, 'run', 'containers', 'torn'))).toBe(false);
    expect(cgroupExists(unified, `${cgroupsRoot}/torn`)).toBe(false);
  });
});
