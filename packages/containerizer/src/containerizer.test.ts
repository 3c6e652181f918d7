import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerID, Isolator } from '@corral/core';
import { InvalidContainerConfigError, InvalidContainerIdError } from '@corral/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeLauncher } from '../test/fake-launcher.ts';
import { type ContainerEvent, Containerizer, type NamedIsolator } from './containerizer.ts';
import { LaunchInfoConflictError } from './errors.ts';

let dir: string;
let launcher: FakeLauncher;
const calls: string[] = [];

/** An isolator that records every call as `<name>.<method>` and can be told to fail. */
function recording(name: string, overrides: Partial<Isolator> = {}): NamedIsolator {
  return {
    name,
    isolator: {
      prepare: async () => {
        calls.push(`${name}.prepare`);
        return undefined;
      },
      isolate: async () => {
        calls.push(`${name}.isolate`);
      },
      cleanup: async () => {
        calls.push(`${name}.cleanup`);
      },
      recover: async (states, orphans) => {
        calls.push(`${name}.recover(${states.length},${orphans.length})`);
      },
      ...overrides,
    },
  };
}

function engine(isolators: NamedIsolator[]): Containerizer {
  return new Containerizer({ runtimeDir: join(dir, 'runtime'), launcher, isolators });
}

const request = () => ({ command_info: { value: 'sleep 10' }, directory: join(dir, 'sandbox') });
const id: ContainerID = { value: 'c1' };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-containerizer-'));
  launcher = new FakeLauncher();
  calls.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('launch', () => {
  it('prepares in order, isolates, releases, and reports RUNNING', async () => {
    const containerizer = engine([recording('a/one'), recording('a/two')]);
    const events: string[] = [];
    containerizer.onEvent((event: ContainerEvent) => events.push(event.to));
    expect(await containerizer.launch(id, request())).toBe('launched');
    expect(calls).toEqual(['a/one.prepare', 'a/two.prepare', 'a/one.isolate', 'a/two.isolate']);
    expect(launcher.released.has('c1')).toBe(true);
    expect(events).toEqual(['PREPARING', 'ISOLATING', 'RUNNING']);
    expect(containerizer.snapshot(id)?.state).toBe('RUNNING');
    expect(launcher.specs.get('c1')?.argv).toEqual(['/bin/sh', '-c', 'sleep 10']);
    expect(readdirSync(join(dir, 'runtime', 'containers', 'c1')).sort()).toEqual([
      'init.json',
      'launch.json',
    ]);
  });

  it('returns already_launched for a known id', async () => {
    const containerizer = engine([]);
    await containerizer.launch(id, request());
    expect(await containerizer.launch(id, request())).toBe('already_launched');
  });

  it('refuses invalid and nested ids before creating anything', async () => {
    const containerizer = engine([recording('a/one')]);
    await expect(containerizer.launch({ value: '../x' }, request())).rejects.toThrow(
      InvalidContainerIdError,
    );
    await expect(
      containerizer.launch({ value: 'child', parent: { value: 'p' } }, request()),
    ).rejects.toThrow(/nested containers are not supported yet/);
    expect(calls).toEqual([]);
    expect(readdirSync(join(dir, 'runtime', 'containers'))).toEqual([]);
  });

  it('destroys everything when a prepare fails, and rethrows', async () => {
    const failing = recording('a/two', {
      prepare: async () => {
        throw new InvalidContainerConfigError('container.linux_info.ipc_mode', 'bad');
      },
    });
    const containerizer = engine([recording('a/one'), failing, recording('a/three')]);
    const events: ContainerEvent[] = [];
    containerizer.onEvent((event) => events.push(event));
    await expect(containerizer.launch(id, request())).rejects.toThrow(InvalidContainerConfigError);
    expect(calls).toEqual(['a/one.prepare', 'a/three.cleanup', 'a/two.cleanup', 'a/one.cleanup']);
    expect(existsSync(join(dir, 'runtime', 'containers', 'c1'))).toBe(false);
    expect(containerizer.list()).toEqual([]);
    const last = events.at(-1);
    expect(last?.to === 'TERMINATED' && last.termination).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: "'container.linux_info.ipc_mode' is invalid: bad",
    });
  });

  it('fails a launch when two isolators set an exclusive field', async () => {
    const rlimits = async () => ({ rlimits: [{ type: 'RLMT_NOFILE' as const, soft: 1, hard: 1 }] });
    const containerizer = engine([
      recording('a/one', { prepare: rlimits }),
      recording('a/two', { prepare: rlimits }),
    ]);
    await expect(containerizer.launch(id, request())).rejects.toThrow(LaunchInfoConflictError);
    expect(launcher.specs.size).toBe(0);
    expect(existsSync(join(dir, 'runtime', 'containers', 'c1'))).toBe(false);
  });

  it('kills the init and cleans up when an isolate fails', async () => {
    const containerizer = engine([
      recording('a/one'),
      recording('a/two', {
        isolate: async () => {
          throw new Error('no cgroup for you');
        },
      }),
    ]);
    await expect(containerizer.launch(id, request())).rejects.toThrow('no cgroup for you');
    expect(launcher.released.has('c1')).toBe(false);
    expect(launcher.destroyed).toEqual(['c1']);
    expect(calls.filter((call) => call.endsWith('cleanup'))).toEqual([
      'a/two.cleanup',
      'a/one.cleanup',
    ]);
  });
});

describe('destroy', () => {
  it('cleans up in reverse order, continues past failures and reports them', async () => {
    const containerizer = engine([
      recording('a/one'),
      recording('a/two', {
        cleanup: async () => {
          calls.push('a/two.cleanup');
          throw new Error('umount failed');
        },
      }),
      recording('a/three'),
    ]);
    await containerizer.launch(id, request());
    calls.length = 0;
    const termination = await containerizer.destroy(id);
    expect(calls).toEqual(['a/three.cleanup', 'a/two.cleanup', 'a/one.cleanup']);
    expect(termination.message).toContain("isolator 'a/two' failed to clean up: umount failed");
    expect(termination.state).toBe('TASK_KILLED');
    expect(termination.status).toBe(9);
    // The checkpoint stays so a later recovery retries the cleanup.
    expect(existsSync(join(dir, 'runtime', 'containers', 'c1'))).toBe(true);
  });

  it('destroys the container when its init exits, with the exit status', async () => {
    const containerizer = engine([recording('a/one')]);
    await containerizer.launch(id, request());
    const wait = containerizer.wait(id);
    launcher.exit('c1', 3 << 8);
    expect(await wait).toEqual({
      status: 768,
      state: 'TASK_FAILED',
      reason: 'REASON_COMMAND_EXECUTOR_FAILED',
      message: 'Command exited with status 3',
    });
    expect(containerizer.list()).toEqual([]);
    expect(existsSync(join(dir, 'runtime', 'containers', 'c1'))).toBe(false);
  });

  it('destroys the whole container on SIGKILL, and only signals the init otherwise', async () => {
    const containerizer = engine([]);
    await containerizer.launch(id, request());
    // The fake init's pid does not exist: the signal finds nobody, and nothing is destroyed.
    expect(containerizer.kill(id, 'SIGTERM')).toBe(true);
    expect(launcher.destroyed).toEqual([]);
    const wait = containerizer.wait(id);
    expect(containerizer.kill(id)).toBe(true);
    expect(await wait).toMatchObject({ status: 9, state: 'TASK_KILLED' });
    expect(launcher.destroyed).toEqual(['c1']);
  });

  it('reports a clean exit as TASK_FINISHED', async () => {
    const containerizer = engine([]);
    await containerizer.launch(id, request());
    const wait = containerizer.wait(id);
    launcher.exit('c1', 0);
    expect(await wait).toMatchObject({ status: 0, state: 'TASK_FINISHED' });
  });

  it('destroys with the limitation when a watch resolves', async () => {
    const containerizer = engine([
      recording('a/one', {
        watch: () =>
          Promise.resolve({
            message: 'Memory limit exceeded',
            reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
          }),
      }),
    ]);
    await containerizer.launch(id, request());
    const termination = await containerizer.wait(id);
    expect(termination).toMatchObject({
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LIMITATION_MEMORY',
      message: 'Memory limit exceeded',
    });
  });

  it('rejects destroy of an unknown container', async () => {
    await expect(engine([]).destroy({ value: 'nope' })).rejects.toThrow("Unknown container 'nope'");
  });
});

describe('status and usage', () => {
  it('merges isolators, skipping a failing one', async () => {
    const containerizer = engine([
      recording('a/one', { status: () => ({ cgroup_info: { net_cls: { classid: 0x190001 } } }) }),
      recording('a/two', {
        status: () => {
          throw new Error('broken');
        },
        usage: () => ({ mem_rss_bytes: 4096 }),
      }),
    ]);
    await containerizer.launch(id, request());
    const status = await containerizer.status(id);
    expect(status.cgroup_info?.net_cls?.classid).toBe(0x190001);
    expect(status.container_id).toEqual(id);
    expect(status.executor_pid).toBeGreaterThan(0);
    const usage = await containerizer.usage(id);
    expect(usage.mem_rss_bytes).toBe(4096);
    expect(usage.timestamp).toBeGreaterThan(0);
  });
});

describe('recover', () => {
  it('recovers running containers and destroys orphans', async () => {
    const first = engine([recording('a/one')]);
    await first.launch(id, request());
    await first.launch({ value: 'gone' }, request());

    launcher = new FakeLauncher();
    launcher.recoverable = { running: ['c1'], orphans: [{ value: 'stray' }] };
    calls.length = 0;
    const second = engine([recording('a/one')]);
    const result = await second.recover();
    expect(result.recovered.map((r) => r.value).sort()).toEqual(['c1', 'gone']);
    expect(result.orphans).toEqual([{ value: 'stray' }]);
    expect(calls[0]).toBe('a/one.recover(2,1)');
    expect(launcher.destroyed).toContain('stray');
    expect(second.snapshot(id)?.state).toBe('RUNNING');
    // 'gone' exited while the agent was down (no status file: killed).
    await expect.poll(() => second.list().map((c) => c.value)).toEqual(['c1']);
  });

  it('treats a runtime dir without an init checkpoint as an orphan', async () => {
    const failing = recording('a/one', {
      prepare: async () => {
        throw new Error('crash here');
      },
      cleanup: async () => {
        calls.push('a/one.cleanup');
        throw new Error('keep the checkpoint');
      },
    });
    await expect(engine([failing]).launch(id, request())).rejects.toThrow('crash here');
    expect(existsSync(join(dir, 'runtime', 'containers', 'c1'))).toBe(true);

    launcher = new FakeLauncher();
    calls.length = 0;
    const result = await engine([recording('a/one')]).recover();
    expect(result.orphans).toEqual([id]);
    expect(calls).toEqual(['a/one.recover(0,1)', 'a/one.cleanup']);
    expect(existsSync(join(dir, 'runtime', 'containers', 'c1'))).toBe(false);
  });
});

describe('steps', () => {
  it('reports each step of launch and destroy in order', async () => {
    const steps: string[] = [];
    const containerizer = new Containerizer({
      runtimeDir: join(dir, 'runtime'),
      launcher,
      isolators: [recording('a/one'), recording('a/two')],
      onStep: (step, stepId) => steps.push(`${step}@${stepId.value}`),
    });
    await containerizer.launch(id, request());
    await containerizer.destroy(id);
    expect(steps).toEqual([
      'prepared@c1',
      'forked@c1',
      'isolated@c1',
      'released@c1',
      'killed@c1',
      'cleaning:a/two@c1',
      'cleaning:a/one@c1',
    ]);
  });
});
