import {
  type ContainerID,
  type ContainerState,
  type Logger,
  ResourceExhaustedError,
  UnknownContainerError,
} from '@corral/core';
import { describe, expect, it } from 'vitest';
import { FakeCgroupTree } from '../test/fake-cgroup-tree.ts';
import { NetClsCgroupExistsError, NetClsHandleConflictError } from './errors.ts';
import type { ManagedHandles } from './flags.ts';
import { NetClsIsolator } from './isolator.ts';

const ROOT = 'corral';
const id = (value: string): ContainerID => ({ value });

class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields?: Readonly<Record<string, unknown>> }[] =
    [];
  debug(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'debug', message, ...(fields && { fields }) });
  }
  info(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'info', message, ...(fields && { fields }) });
  }
  warn(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'warn', message, ...(fields && { fields }) });
  }
  error(message: string, fields?: Readonly<Record<string, unknown>>) {
    this.lines.push({ level: 'error', message, ...(fields && { fields }) });
  }
}

function setup(handles?: ManagedHandles, tree = new FakeCgroupTree()) {
  const logger = new RecordingLogger();
  const isolator = new NetClsIsolator({ tree, root: ROOT, handles, logger });
  return { tree, logger, isolator };
}

const managed = (lo = 1, hi = 0xffff, primary = 0x19): ManagedHandles => ({
  primary,
  secondaries: { lo, hi },
});

function state(value: string): ContainerState {
  return { container_id: id(value), pid: 4242, directory: '/tmp', runtime_directory: '/tmp' };
}

async function launch(isolator: NetClsIsolator, value: string, pid = 100): Promise<void> {
  await isolator.prepare(id(value));
  await isolator.isolate(id(value), pid);
}

describe('managed mode', () => {
  it('gives each container its own cgroup and a distinct classid, written before the pid moves', async () => {
    const { tree, isolator } = setup(managed());
    await launch(isolator, 'a', 11);
    await launch(isolator, 'b', 12);
    expect(tree.read('corral/a', 'net_cls.classid')).toBe(`${0x190001}\n`);
    expect(tree.read('corral/b', 'net_cls.classid')).toBe(`${0x190002}\n`);
    expect(tree.calls).toEqual([
      'create corral/a',
      `write corral/a/net_cls.classid=${0x190001}`,
      'assign corral/a 11',
      'create corral/b',
      `write corral/b/net_cls.classid=${0x190002}`,
      'assign corral/b 12',
    ]);
    expect(isolator.status(id('a'))).toEqual({ cgroup_info: { net_cls: { classid: 0x190001 } } });
    expect(isolator.status(id('b'))).toEqual({ cgroup_info: { net_cls: { classid: 1638402 } } });
  });

  it('reports handle gauges', async () => {
    const { isolator } = setup(managed(1, 10));
    expect(isolator.metrics()).toEqual({ handles_in_use: 0, handles_free: 10, handles_foreign: 0 });
    await launch(isolator, 'a');
    await launch(isolator, 'b');
    expect(isolator.metrics()).toEqual({ handles_in_use: 2, handles_free: 8, handles_foreign: 0 });
    await isolator.cleanup(id('a'));
    expect(isolator.metrics()).toEqual({ handles_in_use: 1, handles_free: 9, handles_foreign: 0 });
  });

  it('cleanup kills stragglers, frees the handle, then removes the cgroup', async () => {
    const { tree, isolator } = setup(managed(1, 2));
    await launch(isolator, 'a');
    tree.calls.length = 0;
    await isolator.cleanup(id('a'));
    expect(tree.calls).toEqual(['kill corral/a', 'destroy corral/a']);
    expect(tree.exists('corral/a')).toBe(false);
    expect(() => isolator.status(id('a'))).toThrow(UnknownContainerError);
    // Freed: 2 is next in line, then 1 comes back.
    await launch(isolator, 'b');
    await launch(isolator, 'c');
    expect(isolator.status(id('b')).cgroup_info?.net_cls?.classid).toBe(0x190002);
    expect(isolator.status(id('c')).cgroup_info?.net_cls?.classid).toBe(0x190001);
  });

  it('keeps the handle while processes may remain: a failed kill frees nothing', async () => {
    const { tree, isolator } = setup(managed(1, 1));
    await launch(isolator, 'a');
    tree.failNext('kill');
    await expect(isolator.cleanup(id('a'))).rejects.toThrow('injected kill failure');
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 1 });
    expect(() => isolator.prepare(id('b'))).toThrow(ResourceExhaustedError);
    await isolator.cleanup(id('a'));
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 0 });
  });

  it('a retried cleanup after a failed rmdir does not free the handle twice', async () => {
    const { tree, isolator } = setup(managed(1, 2));
    await launch(isolator, 'a');
    tree.failNext('destroy');
    await expect(isolator.cleanup(id('a'))).rejects.toThrow('injected destroy failure');
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 0 });
    await isolator.cleanup(id('a'));
    expect(tree.exists('corral/a')).toBe(false);
  });

  it('exhaustion fails that prepare only, with a clear error, and leaves no cgroup', async () => {
    const { tree, isolator } = setup(managed(1, 3));
    for (const name of ['a', 'b', 'c']) await launch(isolator, name);
    const error = await Promise.resolve()
      .then(() => isolator.prepare(id('d')))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ResourceExhaustedError);
    expect(error).toMatchObject({
      code: 'CORRAL_RESOURCE_EXHAUSTED',
      resource: 'net_cls_handles',
      message:
        "Cannot launch container 'd': No free net_cls handles remain for primary handle 0x19: " +
        'all 3 secondary handles 0x1..0x3 are in use',
    });
    expect(tree.exists('corral/d')).toBe(false);
    await isolator.cleanup(id('d'));
    expect(isolator.status(id('a'))).toEqual({ cgroup_info: { net_cls: { classid: 0x190001 } } });

    await isolator.cleanup(id('b'));
    await launch(isolator, 'd');
    expect(isolator.status(id('d'))).toEqual({ cgroup_info: { net_cls: { classid: 0x190002 } } });
  });

  it('a failed cgroup creation releases the handle it took', async () => {
    const { tree, isolator } = setup(managed(1, 1));
    tree.failNext('create');
    await expect(Promise.resolve().then(() => isolator.prepare(id('a')))).rejects.toThrow(
      'injected create failure',
    );
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 0 });
    await isolator.cleanup(id('a'));
    await launch(isolator, 'b');
    expect(isolator.status(id('b')).cgroup_info?.net_cls?.classid).toBe(0x190001);
  });

  it('refuses a second prepare and a cgroup that already exists', async () => {
    const { tree, isolator } = setup(managed());
    await isolator.prepare(id('a'));
    expect(() => isolator.prepare(id('a'))).toThrow("Container 'a' already exists");
    tree.create('corral/stale');
    expect(() => isolator.prepare(id('stale'))).toThrow(NetClsCgroupExistsError);
    expect(() => isolator.prepare(id('stale'))).toThrow(
      "'/fake/net_cls/corral/stale' already exists",
    );
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 1 });
  });

  it('rejects isolate and status of unknown containers; cleanup of them is a no-op', async () => {
    const { tree, isolator } = setup(managed());
    await expect(isolator.isolate(id('nope'), 1)).rejects.toThrow("Unknown container 'nope'");
    expect(() => isolator.status(id('nope'))).toThrow(UnknownContainerError);
    await isolator.cleanup(id('nope'));
    expect(tree.calls).toEqual([]);
  });
});

describe('unmanaged mode', () => {
  it('creates the cgroup, writes no classid, reports one only if the operator set it', async () => {
    const { tree, isolator } = setup();
    await launch(isolator, 'a', 7);
    expect(tree.calls).toEqual(['create corral/a', 'assign corral/a 7']);
    expect(isolator.status(id('a'))).toEqual({});
    tree.write('corral/a', 'net_cls.classid', '1048577');
    expect(isolator.status(id('a'))).toEqual({ cgroup_info: { net_cls: { classid: 0x100001 } } });
    expect(isolator.metrics()).toEqual({});
    await isolator.cleanup(id('a'));
    expect(tree.exists('corral/a')).toBe(false);
  });

  it('recovers operator classids without reserving anything', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/a', 0x100001);
    tree.setClassid('corral/b', 0x100001);
    const { isolator } = setup(undefined, tree);
    await isolator.recover([state('a'), state('b')], []);
    expect(isolator.status(id('a'))).toEqual({ cgroup_info: { net_cls: { classid: 0x100001 } } });
    expect(isolator.status(id('b'))).toEqual({ cgroup_info: { net_cls: { classid: 0x100001 } } });
  });
});

describe('recovery', () => {
  it('re-reserves every running handle and keeps allocating after them', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/a', 0x190001);
    tree.setClassid('corral/b', 0x190003);
    const { isolator } = setup(managed(1, 4), tree);
    await isolator.recover([state('a'), state('b')], []);
    expect(isolator.status(id('a'))).toEqual({ cgroup_info: { net_cls: { classid: 0x190001 } } });
    expect(isolator.status(id('b'))).toEqual({ cgroup_info: { net_cls: { classid: 0x190003 } } });
    expect(isolator.metrics()).toEqual({ handles_in_use: 2, handles_free: 2, handles_foreign: 0 });
    await launch(isolator, 'c');
    await launch(isolator, 'd');
    expect(isolator.status(id('c')).cgroup_info?.net_cls?.classid).toBe(0x190002);
    expect(isolator.status(id('d')).cgroup_info?.net_cls?.classid).toBe(0x190004);
    await expect(Promise.resolve().then(() => isolator.prepare(id('e')))).rejects.toThrow(
      ResourceExhaustedError,
    );
    await isolator.cleanup(id('a'));
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 3 });
  });

  it('keeps handles of another primary or outside the range as foreign, with a warning', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/old', 0x1a0001);
    tree.setClassid('corral/wide', 0x190009);
    const { isolator, logger } = setup(managed(1, 3), tree);
    await isolator.recover([state('old'), state('wide')], []);
    expect(isolator.status(id('old'))).toEqual({ cgroup_info: { net_cls: { classid: 0x1a0001 } } });
    expect(isolator.status(id('wide'))).toEqual({
      cgroup_info: { net_cls: { classid: 0x190009 } },
    });
    expect(isolator.metrics()).toEqual({ handles_in_use: 0, handles_free: 3, handles_foreign: 2 });
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.fields?.handle)).toEqual([
      '0x001a0001 (primary 0x1a, secondary 0x1)',
      '0x00190009 (primary 0x19, secondary 0x9)',
    ]);
    // Never freed into the pool: cleanup does not touch the manager.
    await isolator.cleanup(id('old'));
    await isolator.cleanup(id('wide'));
    expect(isolator.metrics()).toEqual({ handles_in_use: 0, handles_free: 3, handles_foreign: 0 });
  });

  it('refuses two running containers with the same handle, naming both, and changes nothing', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/first', 0x190002);
    tree.setClassid('corral/second', 0x190002);
    tree.create('corral/stray');
    const { isolator } = setup(managed(), tree);
    const error = await Promise.resolve(
      isolator.recover([state('first'), state('second')], []),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetClsHandleConflictError);
    expect(error).toMatchObject({
      code: 'CORRAL_NET_CLS_HANDLE_CONFLICT',
      classid: 0x190002,
      containers: ['first', 'second'],
    });
    expect((error as Error).message).toContain(
      "Containers 'first' and 'second' both hold net_cls handle 0x00190002",
    );
    expect(tree.exists('corral/stray')).toBe(true);
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 0 });
  });

  it('an orphan sharing a running handle is kept out of the pool instead of failing', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/running', 0x190001);
    tree.setClassid('corral/orphan', 0x190001);
    const { isolator, logger } = setup(managed(1, 3), tree);
    await isolator.recover([state('running')], [id('orphan')]);
    expect(logger.lines.some((line) => line.fields?.holder === 'running')).toBe(true);
    await isolator.cleanup(id('orphan'));
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 1 });
    await isolator.cleanup(id('running'));
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 0 });
  });

  it('recovers orphans so their cleanup frees their handle', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/orphan', 0x190001);
    const { isolator } = setup(managed(1, 1), tree);
    await isolator.recover([], [id('orphan')]);
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 1 });
    expect(tree.exists('corral/orphan')).toBe(true);
    await isolator.cleanup(id('orphan'));
    expect(tree.exists('corral/orphan')).toBe(false);
    await launch(isolator, 'next');
    expect(isolator.status(id('next')).cgroup_info?.net_cls?.classid).toBe(0x190001);
  });

  it('destroys cgroups under the root that no container owns, and releases their handles', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/known', 0x190001);
    tree.setClassid('corral/unknown', 0x190002);
    tree.create('corral/not a container id');
    tree.create('corral/parent.child');
    tree.create('elsewhere/x');
    const { isolator } = setup(managed(1, 3), tree);
    await isolator.recover([state('known')], []);
    expect(tree.exists('corral/unknown')).toBe(false);
    expect(tree.exists('corral/known')).toBe(true);
    expect(tree.exists('corral/not a container id')).toBe(true);
    expect(tree.exists('corral/parent.child')).toBe(true);
    expect(tree.exists('elsewhere/x')).toBe(true);
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 1 });
    expect(() => isolator.status(id('unknown'))).toThrow(UnknownContainerError);
  });

  it('keeps the handle of an unknown orphan it failed to destroy, and runs on', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/stuck', 0x190001);
    const { isolator, logger } = setup(managed(1, 2), tree);
    tree.failNext('kill');
    await isolator.recover([], []);
    expect(logger.lines.find((line) => line.level === 'error')?.fields?.container).toBe('stuck');
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 1 });
    await launch(isolator, 'new');
    expect(isolator.status(id('new')).cgroup_info?.net_cls?.classid).toBe(0x190002);
  });

  it('a running container without a cgroup is recovered without a classid', async () => {
    const { isolator, logger } = setup(managed());
    await isolator.recover([state('a')], []);
    expect(isolator.status(id('a'))).toEqual({});
    expect(
      logger.lines.some((line) => line.message === 'no net_cls cgroup for a recovered container'),
    ).toBe(true);
    await isolator.cleanup(id('a'));
  });

  it('a classid of 0 means no handle', async () => {
    const tree = new FakeCgroupTree();
    tree.setClassid('corral/a', 0);
    const { isolator } = setup(managed(), tree);
    await isolator.recover([state('a')], []);
    expect(isolator.status(id('a'))).toEqual({});
    expect(isolator.metrics()).toMatchObject({ handles_in_use: 0, handles_foreign: 0 });
  });

  it('fails on a classid file that is not a number', async () => {
    const tree = new FakeCgroupTree();
    tree.create('corral/a');
    tree.write('corral/a', 'net_cls.classid', 'garbage');
    const { isolator } = setup(managed(), tree);
    await expect(isolator.recover([state('a')], [])).rejects.toThrow(
      `Cannot recover the net_cls handle: '/fake/net_cls/corral/a/net_cls.classid' holds "garbage"`,
    );
  });
});
