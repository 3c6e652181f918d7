import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createIpcIsolator } from '../src/isolator.ts';
import { mountsAtOrUnder, readMountTable } from '../src/mount-table.ts';
import {
  buildPosixMq,
  exitCode,
  Harness,
  hostHasPosixQueue,
  hostSysv,
  ipcNamespaceOf,
  isAlive,
  MAKE_SYSV_OBJECTS,
  parseIpcs,
  SYSV_KINDS,
  type SysvKind,
  type SysvObject,
  sysvMadeIn,
  unique,
} from './harness.ts';

/**
 * Shell lines that make, inside the container, a SysV message queue, semaphore set and shared
 * memory segment, a POSIX message queue `/<tag>` and a file `/dev/shm/<tag>`, and record what
 * the container sees (ids, `ipcs` tables, its IPC namespace) in its sandbox.
 */
function makeObjects(posixMq: string, tag: string): string {
  return [
    'set -e',
    MAKE_SYSV_OBJECTS,
    `${posixMq} create /${tag}`,
    `echo data > /dev/shm/${tag}`,
    'readlink /proc/self/ns/ipc > ns',
  ].join('\n');
}

/** Shell lines that record what IPC objects the container sees, into `<prefix>.*` files. */
function listObjects(posixMq: string, tags: readonly string[], prefix: string): string {
  return [
    ...SYSV_KINDS.map((kind) => `ipcs -${kind} > ${prefix}.${kind}`),
    `ls -a /dev/shm > ${prefix}.shm`,
    ...tags.map((tag) => `if ${posixMq} exists /${tag}; then echo ${tag} >> ${prefix}.mq; fi`),
    `touch ${prefix}.mq`,
  ].join('\n');
}

/** The SysV objects container `name` made; each must show in its `<prefix>.*` listings. */
function madeObjects(harness: Harness, name: string, prefix: string): Record<SysvKind, SysvObject> {
  const made = sysvMadeIn(harness.sandbox(name));
  const found = (kind: SysvKind): SysvObject => {
    const object = made[kind];
    if (!object) throw new Error(`container '${name}' did not record its ${kind} object`);
    expect(parseIpcs(harness.read(name, `${prefix}.${kind}`))).toContainEqual(object);
    // ipcmk picks a random key; a zero key (IPC_PRIVATE) could not identify the object.
    expect(object.key).not.toBe('0x00000000');
    return object;
  };
  return { q: found('q'), s: found('s'), m: found('m') };
}

function keysOf(objects: readonly SysvObject[]): string[] {
  return objects.map((object) => object.key);
}

/** The mount on /dev/shm that processes of `pid` see (the last one stacked there). */
function shmMountOf(pid: number | 'self') {
  return readMountTable(pid)
    .filter((entry) => entry.mountPoint === '/dev/shm')
    .at(-1);
}

describeOnKernel(
  'namespaces/ipc: PRIVATE containers',
  { root: true, namespaces: ['ipc', 'mnt'], commands: ['ipcs', 'ipcmk', 'cc', 'mount'] },
  () => {
    let tools: string;
    let posixMq: string;
    let harness: Harness;

    beforeAll(() => {
      tools = mkdtempSync(join(tmpdir(), 'corral-ipc-tools-'));
      posixMq = buildPosixMq(tools);
    });
    afterAll(() => rmSync(tools, { recursive: true, force: true }));
    beforeEach(() => {
      harness = new Harness();
    });
    afterEach(() => harness.dispose());

    /** A POSIX queue or /dev/shm file name, removed from the host after the test if it leaked. */
    function tag(prefix: string): string {
      const name = unique(prefix);
      harness.onDispose(() => {
        execFileSync(posixMq, ['unlink', `/${name}`]);
        rmSync(`/dev/shm/${name}`, { force: true });
      });
      return name;
    }

    it('hides every IPC object made inside from the host, and they are gone after destroy', async () => {
      const containerizer = harness.containerizer(await harness.isolator());
      const name = tag('corral-ipc-private');
      await harness.launch(
        containerizer,
        'private',
        [
          makeObjects(posixMq, name),
          listObjects(posixMq, [name], 'inside'),
          'stat -c %a /dev/shm > shm.mode',
          'touch ready',
          'exec sleep 300',
        ].join('\n'),
      );
      await harness.untilWritten(containerizer, 'private', 'ready');
      const pid = containerizer.snapshot({ value: 'private' })?.pid ?? 0;
      const made = madeObjects(harness, 'private', 'inside');

      // Inside: the container sees what it made.
      expect(harness.read('private', 'inside.mq').trim()).toBe(name);
      expect(harness.read('private', 'inside.shm').split('\n')).toContain(name);
      // Host: none of it, compared by key (the host may have objects of its own, even equal ids).
      for (const kind of SYSV_KINDS) expect(keysOf(hostSysv(kind))).not.toContain(made[kind].key);
      expect(hostHasPosixQueue(posixMq, `/${name}`)).toBe(false);
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
      // Its own IPC namespace, which its processes share.
      const containerNs = ipcNamespaceOf(pid);
      expect(containerNs).not.toBe(ipcNamespaceOf('self'));
      expect(harness.read('private', 'ns').trim()).toBe(containerNs);
      // Its /dev/shm is a tmpfs of its own (mode 1777, nosuid, nodev) that the host never sees.
      const shm = shmMountOf(pid);
      expect(shm).toMatchObject({ fsType: 'tmpfs', source: 'shm' });
      expect(shm?.mountOptions.split(',')).toEqual(expect.arrayContaining(['nosuid', 'nodev']));
      expect(harness.read('private', 'shm.mode').trim()).toBe('1777');
      expect(shm?.device).not.toBe(shmMountOf('self')?.device);
      const hostMounts = readMountTable();
      expect(hostMounts.map((entry) => entry.device)).not.toContain(shm?.device);
      expect(mountsAtOrUnder(hostMounts, harness.runtimeDir)).toEqual([]);

      const termination = await containerizer.destroy({ value: 'private' });
      expect(termination.state).toBe('TASK_KILLED');

      expect(isAlive(pid)).toBe(false);
      for (const kind of SYSV_KINDS) expect(keysOf(hostSysv(kind))).not.toContain(made[kind].key);
      expect(hostHasPosixQueue(posixMq, `/${name}`)).toBe(false);
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
      expect(
        readMountTable().filter(
          (entry) => entry.device === shm?.device && entry.mountPoint === '/dev/shm',
        ),
      ).toEqual([]);
      expect(mountsAtOrUnder(readMountTable(), harness.runtimeDir)).toEqual([]);
      expect(readdirSync(join(harness.runtimeDir, 'containers'))).toEqual([]);
    });

    it('two PRIVATE containers do not see each other’s objects', async () => {
      const containerizer = harness.containerizer(await harness.isolator());
      const tags = { a: tag('corral-ipc-a'), b: tag('corral-ipc-b') };
      for (const name of ['a', 'b'] as const) {
        await harness.launch(
          containerizer,
          name,
          [
            makeObjects(posixMq, tags[name]),
            'touch ready',
            // Both list only once both have made their objects.
            `while [ ! -e go ]; do sleep 0.02; done`,
            listObjects(posixMq, [tags.a, tags.b], 'after'),
            'touch listed',
            'exec sleep 300',
          ].join('\n'),
        );
      }
      for (const name of ['a', 'b']) await harness.untilWritten(containerizer, name, 'ready');
      for (const name of ['a', 'b']) execFileSync('touch', [join(harness.sandbox(name), 'go')]);
      for (const name of ['a', 'b']) await harness.untilWritten(containerizer, name, 'listed');

      const made = { a: madeObjects(harness, 'a', 'after'), b: madeObjects(harness, 'b', 'after') };
      for (const [self, other] of [
        ['a', 'b'],
        ['b', 'a'],
      ] as const) {
        for (const kind of SYSV_KINDS) {
          const seen = keysOf(parseIpcs(harness.read(self, `after.${kind}`)));
          expect(seen).toContain(made[self][kind].key);
          expect(seen).not.toContain(made[other][kind].key);
        }
        expect(harness.read(self, 'after.mq').trim().split('\n')).toEqual([tags[self]]);
        const shmFiles = harness.read(self, 'after.shm').split('\n');
        expect(shmFiles).toContain(tags[self]);
        expect(shmFiles).not.toContain(tags[other]);
      }
      const namespaces = new Set([
        harness.read('a', 'ns').trim(),
        harness.read('b', 'ns').trim(),
        ipcNamespaceOf('self'),
      ]);
      expect(namespaces.size).toBe(3);
    });

    it('shm_size bounds /dev/shm: 2 MB do not fit in 1 MB, and fit in 3 MB', async () => {
      const containerizer = harness.containerizer(await harness.isolator());
      const write2MB = `dd if=/dev/zero of=/dev/shm/${tag('corral-ipc-big')} bs=1M count=2 2> dd.err`;
      const [small, enough] = await Promise.all([
        harness.run(containerizer, 'small', write2MB, { ipc_mode: 'PRIVATE', shm_size: 1 }),
        harness.run(containerizer, 'enough', write2MB, { ipc_mode: 'PRIVATE', shm_size: 3 }),
      ]);
      expect(exitCode(small)).not.toBe(0);
      expect(exitCode(small)).toBeDefined();
      expect(harness.read('small', 'dd.err')).toContain('No space left on device');
      expect(exitCode(enough)).toBe(0);
    });

    it('--default_container_shm_size sizes /dev/shm unless shm_size says otherwise', async () => {
      const isolator = await harness.isolator({ default_container_shm_size: '1MB' });
      const containerizer = harness.containerizer(isolator);
      const write2MB = `dd if=/dev/zero of=/dev/shm/${tag('corral-ipc-big')} bs=1M count=2`;
      const [byFlag, byOption] = await Promise.all([
        harness.run(containerizer, 'by-flag', write2MB),
        harness.run(containerizer, 'by-option', write2MB, { shm_size: 3 }),
      ]);
      expect(exitCode(byFlag)).not.toBe(0);
      expect(exitCode(byOption)).toBe(0);
    });

    it('gives a PRIVATE container its own mqueue filesystem where the host mounts one', async () => {
      // The host's mqueue mount (like systemd's /dev/mqueue), here in the test's temp dir.
      const mqueue = join(harness.dir, 'mqueue');
      mkdirSync(mqueue);
      execFileSync('mount', ['-t', 'mqueue', 'mqueue', mqueue]);
      const hostQueue = tag('corral-ipc-host');
      execFileSync(posixMq, ['create', `/${hostQueue}`]);
      const containerQueue = tag('corral-ipc-inside');
      const isolator = createIpcIsolator({
        disallowSharingAgentIpcNamespace: false,
        agentRuntimeDir: harness.runtimeDir,
        mqueueMountPoint: mqueue,
      });
      const containerizer = harness.containerizer(isolator);

      const [privateRun, sharedRun] = await Promise.all([
        harness.run(
          containerizer,
          'private',
          `${posixMq} create /${containerQueue} && ls -a ${mqueue} > seen`,
        ),
        harness.run(containerizer, 'shared', `ls -a ${mqueue} > seen`, {
          ipc_mode: 'SHARE_PARENT',
        }),
      ]);
      expect(exitCode(privateRun)).toBe(0);
      expect(exitCode(sharedRun)).toBe(0);
      const privateView = harness.read('private', 'seen').split('\n');
      expect(privateView).toContain(containerQueue);
      expect(privateView).not.toContain(hostQueue);
      // Without the private mount the host's queues show through, as SHARE_PARENT shows.
      expect(harness.read('shared', 'seen').split('\n')).toContain(hostQueue);
      expect(readdirSync(mqueue)).toContain(hostQueue);
      expect(readdirSync(mqueue)).not.toContain(containerQueue);
    });
  },
);
