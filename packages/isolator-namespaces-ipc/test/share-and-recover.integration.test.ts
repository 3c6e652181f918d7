import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidContainerConfigError } from '@corral/core';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { mountsAtOrUnder, readMountTable } from '../src/mount-table.ts';
import {
  buildPosixMq,
  exitCode,
  Harness,
  hostHasPosixQueue,
  hostSysv,
  ipcmkId,
  ipcNamespaceOf,
  isAlive,
  MAKE_SYSV_OBJECTS,
  parseIpcs,
  SYSV_KINDS,
  sysvMadeIn,
  unique,
} from './harness.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/launch-and-exit.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Runs the fixture agent, which launches one container and exits; resolves with the init pid. */
function launchFromAnotherAgent(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@corral/source', '--import', 'tsx', FIXTURE, ...args],
      { cwd: PACKAGE_DIR, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve((JSON.parse(stdout) as { pid: number }).pid);
      },
    );
  });
}

describeOnKernel(
  'namespaces/ipc: SHARE_PARENT, the disallow flag, recovery',
  { root: true, namespaces: ['ipc', 'mnt'], commands: ['ipcs', 'ipcmk', 'ipcrm', 'cc', 'mount'] },
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

    it("a SHARE_PARENT container sees the host's IPC objects and /dev/shm, in the host's namespace", async () => {
      const queueId = ipcmkId(execFileSync('ipcmk', ['-Q'], { encoding: 'utf8' }));
      harness.onDispose(() => execFileSync('ipcrm', ['-q', String(queueId)]));
      const queue = hostSysv('q').find((object) => object.id === queueId);
      expect(queue).toBeDefined();
      const name = unique('corral-ipc-host');
      writeFileSync(`/dev/shm/${name}`, 'host');
      execFileSync(posixMq, ['create', `/${name}`]);
      harness.onDispose(() => {
        rmSync(`/dev/shm/${name}`, { force: true });
        execFileSync(posixMq, ['unlink', `/${name}`]);
      });

      const containerizer = harness.containerizer(await harness.isolator());
      const termination = await harness.run(
        containerizer,
        'shared',
        [
          'set -e',
          'ipcs -q > q',
          'readlink /proc/self/ns/ipc > ns',
          'ls -a /dev/shm > shm',
          `${posixMq} exists /${name} && echo yes > mq`,
        ].join('\n'),
        { ipc_mode: 'SHARE_PARENT' },
      );

      expect(exitCode(termination)).toBe(0);
      expect(parseIpcs(harness.read('shared', 'q'))).toContainEqual(queue);
      expect(harness.read('shared', 'ns').trim()).toBe(ipcNamespaceOf('self'));
      expect(harness.read('shared', 'shm').split('\n')).toContain(name);
      expect(harness.read('shared', 'mq').trim()).toBe('yes');
    });

    it('refuses SHARE_PARENT under --disallow_sharing_agent_ipc_namespace=true, leaving nothing', async () => {
      const isolator = await harness.isolator({ disallow_sharing_agent_ipc_namespace: 'true' });
      const containerizer = harness.containerizer(isolator);
      const launch = harness.launch(containerizer, 'refused', 'touch ran', {
        ipc_mode: 'SHARE_PARENT',
      });
      await expect(launch).rejects.toThrow(InvalidContainerConfigError);
      await expect(launch).rejects.toMatchObject({ field: 'container.linux_info.ipc_mode' });
      expect(containerizer.list()).toEqual([]);
      expect(existsSync(join(harness.sandbox('refused'), 'ran'))).toBe(false);
      expect(readdirSync(join(harness.runtimeDir, 'containers'))).toEqual([]);

      // PRIVATE containers still launch.
      const termination = await harness.run(containerizer, 'private', 'touch ran');
      expect(exitCode(termination)).toBe(0);
      expect(existsSync(join(harness.sandbox('private'), 'ran'))).toBe(true);
    });

    it('a restarted agent recovers a PRIVATE container and destroys it without a trace', async () => {
      const name = unique('corral-ipc-survivor');
      harness.onDispose(() => {
        execFileSync(posixMq, ['unlink', `/${name}`]);
        rmSync(`/dev/shm/${name}`, { force: true });
      });
      const sandbox = harness.sandbox('survivor');
      mkdirSync(sandbox, { recursive: true });
      const command = [
        'set -e',
        MAKE_SYSV_OBJECTS,
        `${posixMq} create /${name}`,
        `echo data > /dev/shm/${name}`,
        'touch ready',
        'exec sleep 300',
      ].join('\n');
      const pid = await launchFromAnotherAgent([
        harness.runtimeDir,
        harness.cgroupsRoot,
        'survivor',
        sandbox,
        command,
      ]);

      // The restarted agent: a new containerizer and a new isolator over the same runtime dir.
      const containerizer = harness.containerizer(await harness.isolator());
      const recovered = await containerizer.recover();
      expect(recovered).toEqual({ recovered: [{ value: 'survivor' }], orphans: [] });
      await harness.untilWritten(containerizer, 'survivor', 'ready');
      const made = sysvMadeIn(sandbox);
      expect(Object.keys(made).sort()).toEqual(['m', 'q', 's']);
      const hostKeys = () => SYSV_KINDS.flatMap((kind) => hostSysv(kind).map((o) => o.key));
      const madeKeys = Object.values(made).map((object) => object.key);
      expect(ipcNamespaceOf(pid)).not.toBe(ipcNamespaceOf('self'));
      expect(hostKeys().filter((key) => madeKeys.includes(key))).toEqual([]);

      const termination = await containerizer.destroy({ value: 'survivor' });
      expect(termination.state).toBe('TASK_KILLED');
      expect(isAlive(pid)).toBe(false);
      expect(hostKeys().filter((key) => madeKeys.includes(key))).toEqual([]);
      expect(hostHasPosixQueue(posixMq, `/${name}`)).toBe(false);
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
      expect(mountsAtOrUnder(readMountTable(), harness.runtimeDir)).toEqual([]);
      expect(readdirSync(join(harness.runtimeDir, 'containers'))).toEqual([]);
    });

    it('unmounts a host-side shm that an older layout left under an orphan’s runtime dir', async () => {
      // What a Mesos-style layout leaves: a tmpfs at <runtime dir>/containers/<id>/shm.
      const legacy = join(harness.runtimeDir, 'containers', 'legacy', 'shm');
      mkdirSync(legacy, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'shm', legacy]);
      writeFileSync(join(legacy, 'left-behind'), 'data');
      expect(mountsAtOrUnder(readMountTable(), legacy)).toHaveLength(1);

      const containerizer = harness.containerizer(await harness.isolator());
      const recovered = await containerizer.recover();

      expect(recovered).toEqual({ recovered: [], orphans: [{ value: 'legacy' }] });
      expect(mountsAtOrUnder(readMountTable(), harness.runtimeDir)).toEqual([]);
      expect(readdirSync(join(harness.runtimeDir, 'containers'))).toEqual([]);
    });
  },
);
