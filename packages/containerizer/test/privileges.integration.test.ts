import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContainerTermination, InvalidContainerConfigError } from '@corral/core';
import { PosixLauncher } from '@corral/launcher';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Containerizer, type ContainerizerOptions, type LaunchRequest } from '../src/index.ts';

let dir: string;
const engines: Containerizer[] = [];

function engine(options: Partial<ContainerizerOptions> = {}): Containerizer {
  const containerizer = new Containerizer({
    runtimeDir: join(dir, 'run'),
    // Process-group tracking: these tests need no cgroups.
    launcher: new PosixLauncher(),
    isolators: [],
    ...options,
  });
  engines.push(containerizer);
  return containerizer;
}

const sandbox = (name: string) => join(dir, 'sandboxes', name);

/** Launches `command` as container `name`; resolves with its termination and stdout. */
async function run(containerizer: Containerizer, name: string, request: Partial<LaunchRequest>) {
  const id = { value: name };
  await containerizer.launch(id, {
    command_info: { value: 'true' },
    directory: sandbox(name),
    ...request,
  });
  const termination: ContainerTermination | undefined = await containerizer.wait(id);
  const read = (file: string) => readFileSync(join(sandbox(name), file), 'utf8');
  return { termination, stdout: read('stdout'), stderr: read('stderr') };
}

/** The status of a container that sleeps with `request`'s user and options. */
async function statusOf(
  containerizer: Containerizer,
  name: string,
  request: Partial<LaunchRequest>,
) {
  const id = { value: name };
  await containerizer.launch(id, {
    directory: sandbox(name),
    ...request,
    command_info: { ...request.command_info, value: 'sleep 30' },
  });
  const status = await containerizer.status(id);
  await containerizer.destroy(id);
  return status;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-privileges-it-'));
});

afterEach(async () => {
  for (const containerizer of engines.splice(0)) {
    await Promise.allSettled(containerizer.list().map((id) => containerizer.destroy(id)));
  }
  rmSync(dir, { recursive: true, force: true });
});

describeOnKernel('containerizer: command.user and no_new_privs', { root: true }, () => {
  it('runs the command as nobody with its groups, in a sandbox it owns', async () => {
    const rootFile = join(dir, 'root-owned');
    writeFileSync(rootFile, 'kept\n', { mode: 0o644 });
    const containerizer = engine();
    const { termination, stdout, stderr } = await run(containerizer, 'nobody', {
      command_info: {
        value: `id -u; id -G; echo "$USER $HOME"; echo mine > own; echo changed > ${rootFile}`,
        user: 'nobody',
      },
    });
    const groups = execFileSync('id', ['-G', 'nobody'], { encoding: 'utf8' });
    expect(stdout).toBe(`65534\n${groups}nobody /nonexistent\n`);
    expect(stderr).toMatch(/root-owned: Permission denied/);
    expect(termination?.state).toBe('TASK_FAILED');
    expect(readFileSync(rootFile, 'utf8')).toBe('kept\n');
    expect(readFileSync(join(sandbox('nobody'), 'own'), 'utf8')).toBe('mine\n');
    for (const file of ['', 'stdout', 'stderr']) {
      expect(statSync(join(sandbox('nobody'), file)).uid).toBe(65534);
    }
    const status = await statusOf(containerizer, 'asleep', { command_info: { user: 'nobody' } });
    expect(status.privileges).toEqual({
      user: 'nobody',
      uid: 65534,
      gid: 65534,
      groups: groups.trim().split(' ').map(Number),
      no_new_privileges: true,
    });
  });

  it('refuses an unknown user before anything is created, naming it', async () => {
    const containerizer = engine();
    const launch = run(containerizer, 'ghost', {
      command_info: { value: 'touch ran', user: 'corral-no-such-user' },
    });
    await expect(launch).rejects.toThrow(InvalidContainerConfigError);
    await expect(launch).rejects.toThrow(
      "'command.user' is invalid: no user 'corral-no-such-user' in /etc/passwd",
    );
    expect(containerizer.list()).toEqual([]);
    expect(existsSync(sandbox('ghost'))).toBe(false);
    expect(existsSync(join(dir, 'run', 'containers', 'ghost'))).toBe(false);
  });

  it('refuses another user with --switch_user=false rather than running it as root', async () => {
    const containerizer = engine({ switchUser: false });
    await expect(
      run(containerizer, 'noswitch', { command_info: { value: 'id -u', user: 'nobody' } }),
    ).rejects.toThrow(/cannot run as 'nobody': the agent runs with --switch_user=false/);
    expect(existsSync(sandbox('noswitch'))).toBe(false);
    const root = await run(containerizer, 'root', { command_info: { value: 'id -u' } });
    expect(root.stdout).toBe('0\n');
    expect((await statusOf(containerizer, 'asleep', {})).privileges).toMatchObject({
      user: 'root',
      uid: 0,
    });
  });

  it('sets no_new_privs by default; a container opts out only when the agent allows it', async () => {
    const nnp = 'grep NoNewPrivs /proc/self/status';
    const optOut = { linux_info: { no_new_privileges: false } };
    expect((await run(engine(), 'default', { command_info: { value: nnp } })).stdout).toBe(
      'NoNewPrivs:\t1\n',
    );
    await expect(
      run(engine(), 'refused', { command_info: { value: nnp }, container_info: optOut }),
    ).rejects.toThrow(/'container.linux_info.no_new_privileges' is invalid: false is not allowed/);
    const optional = engine({ noNewPrivileges: 'optional' });
    const out = await run(optional, 'out', {
      command_info: { value: nnp },
      container_info: optOut,
    });
    expect(out.stdout).toBe('NoNewPrivs:\t0\n');
    const status = await statusOf(optional, 'asleep', { container_info: optOut });
    expect(status.privileges?.no_new_privileges).toBe(false);
    const disabled = engine({ noNewPrivileges: 'disabled' });
    expect((await run(disabled, 'off', { command_info: { value: nnp } })).stdout).toBe(
      'NoNewPrivs:\t0\n',
    );
  });
});
