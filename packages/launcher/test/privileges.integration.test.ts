import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { processPrivileges } from '@corral/test-support/proc-status';
import { afterEach, expect, it } from 'vitest';
import { type InitSpec, type PendingInit, Spawner } from '../src/index.ts';
import { commandOf, killGroup, Sandbox } from './helpers.ts';

const NOBODY = { uid: 65534, gid: 65534 };
let sandbox: Sandbox;
/** Every sandbox a test made (some make several): all are removed after it. */
const sandboxes: Sandbox[] = [];
const inits: PendingInit[] = [];
const spawner = new Spawner();

/** Starts `argv` with `privileges` in a fresh sandbox that any user may enter. */
async function run(argv: readonly string[], privileges: Partial<InitSpec>): Promise<PendingInit> {
  newSandbox();
  const init = await spawner.fork(sandbox.spec(argv, privileges));
  inits.push(init);
  await init.release();
  return init;
}

/** What the kernel reports for a command that sleeps with `privileges`. */
async function privilegesOf(privileges: Partial<InitSpec>) {
  const init = await run(['sleep', '30'], privileges);
  return processPrivileges(await commandOf(init.pid));
}

afterEach(() => {
  for (const init of inits.splice(0)) {
    init.abort();
    killGroup(init.pid);
  }
  for (const made of sandboxes.splice(0)) made.remove();
});

/** A fresh sandbox that any user may enter, removed after the test. */
function newSandbox(): Sandbox {
  sandbox = new Sandbox();
  chmodSync(sandbox.dir, 0o755);
  sandboxes.push(sandbox);
  return sandbox;
}

describeOnKernel('container init: user, capabilities, no_new_privs', { root: true }, () => {
  it('switches to the user and its groups, which drops every capability', async () => {
    const kernel = await privilegesOf({ user: NOBODY, groups: [65534] });
    expect(kernel.uids).toEqual([65534, 65534, 65534, 65534]);
    expect(kernel.gids).toEqual([65534, 65534, 65534, 65534]);
    expect(kernel.groups).toEqual([65534]);
    expect(kernel.effective).toEqual([]);
    expect(kernel.permitted).toEqual([]);
    expect(kernel.noNewPrivs).toBe(false);
  });

  it('gives root exactly the effective set, not the bounding set (SECBIT_NOROOT)', async () => {
    const kernel = await privilegesOf({
      effectiveCapabilities: ['CAP_CHOWN'],
      boundingCapabilities: ['CAP_CHOWN', 'CAP_NET_RAW'],
    });
    expect(kernel.uids[0]).toBe(0);
    expect(kernel.effective).toEqual(['CAP_CHOWN']);
    expect(kernel.permitted).toEqual(['CAP_CHOWN']);
    expect(kernel.ambient).toEqual(['CAP_CHOWN']);
    expect(kernel.bounding).toEqual(['CAP_CHOWN', 'CAP_NET_RAW']);
  });

  it('gives root its bounding set when only a bounding set is asked for', async () => {
    const kernel = await privilegesOf({ boundingCapabilities: ['CAP_KILL', 'CAP_NET_RAW'] });
    expect(kernel.effective).toEqual(['CAP_KILL', 'CAP_NET_RAW']);
    expect(kernel.bounding).toEqual(['CAP_KILL', 'CAP_NET_RAW']);
    expect(kernel.ambient).toEqual([]);
  });

  it('keeps the effective set of a non-root user across exec through the ambient set', async () => {
    const kernel = await privilegesOf({
      user: NOBODY,
      groups: [],
      effectiveCapabilities: ['CAP_NET_BIND_SERVICE'],
      boundingCapabilities: ['CAP_NET_BIND_SERVICE'],
      noNewPrivileges: true,
    });
    expect(kernel.uids).toEqual([65534, 65534, 65534, 65534]);
    expect(kernel.groups).toEqual([]);
    expect(kernel.effective).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.permitted).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.inheritable).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.ambient).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.bounding).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kernel.noNewPrivs).toBe(true);
  });

  it('lets nobody bind port 80 with CAP_NET_BIND_SERVICE and not without', async () => {
    const listen =
      "require('net').createServer().listen(80, () => process.exit(0))" +
      '.on("error", (e) => { console.log(e.code); process.exit(1); })';
    const bind = async (effective: InitSpec['effectiveCapabilities']) => {
      // Its own network namespace: port 80 is free there whatever the host runs.
      const init = await run([process.execPath, '-e', listen], {
        user: NOBODY,
        groups: [],
        cloneNamespaces: ['net'],
        ...(effective ? { effectiveCapabilities: effective } : {}),
      });
      return { status: await init.exited, stdout: sandbox.stdout() };
    };
    expect(await bind(['CAP_NET_BIND_SERVICE'])).toEqual({ status: 0, stdout: '' });
    expect(await bind(undefined)).toEqual({ status: 1 << 8, stdout: 'EACCES\n' });
  });

  it('makes chown fail without CAP_CHOWN and work with it, for root', async () => {
    const chown = async (effective: InitSpec['effectiveCapabilities']) => {
      const init = await run(['sh', '-c', 'touch f && chown 1:1 f'], {
        ...(effective ? { effectiveCapabilities: effective } : {}),
      });
      const status = await init.exited;
      return { status, stderr: sandbox.stderrSoFar() };
    };
    expect(await chown(['CAP_CHOWN'])).toEqual({ status: 0, stderr: '' });
    const denied = await chown(['CAP_NET_RAW']);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toContain('Operation not permitted');
  });

  it('does not let a setuid-root binary gain root under no_new_privs', async () => {
    const idOf = async (noNewPrivileges: boolean) => {
      newSandbox();
      const suid = join(sandbox.dir, 'id-suid');
      copyFileSync('/usr/bin/id', suid);
      chmodSync(suid, 0o4755);
      const init = await spawner.fork(
        sandbox.spec([suid, '-u'], { user: NOBODY, groups: [], noNewPrivileges }),
      );
      inits.push(init);
      await init.release();
      await init.exited;
      return sandbox.stdout();
    };
    // Without it the same binary runs with euid 0: the probe can tell the two apart.
    expect(await idOf(false)).toBe('0\n');
    expect(await idOf(true)).toBe('65534\n');
  });

  it('lets the user write its stdout but not a root-owned file', async () => {
    newSandbox();
    const rootFile = join(sandbox.dir, 'root-owned');
    writeFileSync(rootFile, 'kept\n', { mode: 0o644 });
    const init = await spawner.fork(
      sandbox.spec(['sh', '-c', `id -u; echo changed > ${rootFile}`], { user: NOBODY, groups: [] }),
    );
    inits.push(init);
    await init.release();
    expect(await init.exited).not.toBe(0);
    expect(sandbox.stdout()).toBe('65534\n');
    expect(sandbox.stderrSoFar()).toContain('Permission denied');
    expect(readFileSync(rootFile, 'utf8')).toBe('kept\n');
  });
});
