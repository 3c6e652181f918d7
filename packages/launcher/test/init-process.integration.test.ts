import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { LaunchError, type PendingInit, Spawner } from '../src/index.ts';
import { childrenOf, commandOf, isAlive, killGroup, Sandbox, sleep, waitFor } from './helpers.ts';

let sandbox: Sandbox;
const inits: PendingInit[] = [];
const spawner = new Spawner();

async function start(...args: Parameters<Sandbox['spec']>): Promise<PendingInit> {
  const init = await spawner.fork(sandbox.spec(...args));
  inits.push(init);
  return init;
}

afterEach(() => {
  for (const init of inits.splice(0)) {
    init.abort();
    killGroup(init.pid);
  }
  sandbox?.remove();
});

describeOnKernel('container init: the sync channel', { root: true, namespaces: ['ipc'] }, () => {
  it('runs nothing before release and the command after it', async () => {
    sandbox = new Sandbox();
    const marker = join(sandbox.dir, 'marker');
    const init = await start(['touch', marker], { cloneNamespaces: ['ipc'] });
    await sleep(100);
    expect(existsSync(marker)).toBe(false);
    expect(isAlive(init.pid)).toBe(true);
    await init.release();
    expect(await init.exited).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  it('abort makes the init exit without running the command', async () => {
    sandbox = new Sandbox();
    const marker = join(sandbox.dir, 'marker');
    const init = await start(['touch', marker], { cloneNamespaces: ['ipc'] });
    init.abort();
    init.abort();
    expect(await init.exited).toBe(9);
    await expect(init.release()).rejects.toThrow(LaunchError);
    await sleep(50);
    expect(existsSync(marker)).toBe(false);
  });
});

describeOnKernel(
  'container init: namespaces and mounts',
  { root: true, namespaces: ['ipc', 'mnt', 'pid', 'net', 'uts'] },
  () => {
    const namespaces = ['ipc', 'mnt', 'pid', 'net', 'uts'] as const;
    const shm = {
      target: '/dev/shm',
      type: 'tmpfs',
      flags: ['nosuid', 'nodev'],
      options: 'size=1m,mode=1777',
    } as const;

    it('gives the command its own namespaces, a private /dev/shm and a hostname', async () => {
      sandbox = new Sandbox();
      const init = await start(['sleep', '30'], {
        cloneNamespaces: namespaces,
        mounts: [shm],
        hostname: 'corral-box',
      });
      await init.release();
      const command = await commandOf(init.pid);
      for (const ns of namespaces) {
        expect(readlinkSync(`/proc/${command}/ns/${ns}`), ns).not.toBe(
          readlinkSync(`/proc/self/ns/${ns}`),
        );
      }
      const shmLine = (mountinfo: string) =>
        mountinfo.split('\n').find((line) => / \/dev\/shm .* - tmpfs .*size=1024k/.test(line));
      const inside = shmLine(readFileSync(`/proc/${command}/mountinfo`, 'utf8'));
      expect(inside).toMatch(/ \/dev\/shm \S*nosuid,nodev/);
      expect(shmLine(readFileSync('/proc/self/mountinfo', 'utf8'))).toBeUndefined();
    });

    it('limits the tmpfs, sets the hostname and shows only the container in /proc', async () => {
      sandbox = new Sandbox();
      const script = [
        'hostname',
        'echo pid=$$',
        'ls /proc | grep -c "^[0-9]"',
        'head -c 2097152 /dev/zero > /dev/shm/big 2>/dev/null; echo write=$?',
        'ps -e -o pid= | wc -l',
        'stat -c %a /dev/shm',
      ].join('; ');
      const init = await start(['/bin/sh', '-c', script], {
        cloneNamespaces: namespaces,
        mounts: [shm],
        hostname: 'corral-box',
      });
      await init.release();
      expect(await init.exited).toBe(0);
      const [hostname, pid, procCount, write, psCount, mode] = sandbox.stdout().trim().split('\n');
      expect(hostname).toBe('corral-box');
      expect(pid).toBe('pid=1');
      // sh, ls and grep
      expect(Number(procCount)).toBeLessThanOrEqual(3);
      expect(write).not.toBe('write=0');
      // sh, ps and wc
      expect(Number(psCount)).toBeLessThanOrEqual(3);
      expect(mode).toBe('1777');
    });

    it('brings loopback up in a new network namespace', async () => {
      sandbox = new Sandbox();
      const init = await start(['ip', '-o', 'link', 'show', 'lo'], { cloneNamespaces: ['net'] });
      await init.release();
      expect(await init.exited).toBe(0);
      expect(sandbox.stdout()).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
    });

    it('bind-mounts read-only, creating the missing target', async () => {
      sandbox = new Sandbox();
      const source = join(sandbox.dir, 'source');
      mkdirSync(source);
      writeFileSync(join(source, 'file'), 'from the host');
      const target = join(sandbox.dir, 'new', 'target');
      const script = `cat ${target}/file; echo; touch ${target}/x 2>/dev/null; echo touch=$?`;
      const init = await start(['/bin/sh', '-c', script], {
        cloneNamespaces: ['mnt'],
        mounts: [{ source, target, flags: ['bind', 'rdonly'] }],
      });
      await init.release();
      expect(await init.exited).toBe(0);
      expect(sandbox.stdout()).toBe('from the host\ntouch=1\n');
      expect(existsSync(join(source, 'x'))).toBe(false);
      // The target was created on the host's filesystem, but the mount stayed inside.
      expect(readdirSync(target)).toEqual([]);
    });

    it('makes a recursive read-only bind read-only in its submounts too', async () => {
      sandbox = new Sandbox();
      const source = join(sandbox.dir, 'volume');
      const submount = join(source, 'sub');
      mkdirSync(submount, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', submount]);
      try {
        const target = join(sandbox.dir, 'ro');
        const script = `touch ${target}/top 2>&1; touch ${target}/sub/deep 2>&1; true`;
        const init = await start(['/bin/sh', '-c', script], {
          cloneNamespaces: ['mnt'],
          mounts: [{ source, target, flags: ['bind', 'rec', 'rdonly'] }],
        });
        await init.release();
        expect(await init.exited).toBe(0);
        const errors = sandbox.stdout().trim().split('\n');
        expect(errors).toHaveLength(2);
        for (const error of errors) expect(error).toMatch(/Read-only file system/);
        expect(readdirSync(submount)).toEqual([]);
      } finally {
        execFileSync('umount', [submount]);
      }
    });

    it('refuses mounts without a mount namespace', async () => {
      sandbox = new Sandbox();
      const init = await start(['true'], { mounts: [{ target: '/mnt', type: 'tmpfs' }] });
      await expect(init.release()).rejects.toThrow(
        'mounts are not supported if the mount namespace is not cloned',
      );
    });

    it('rejects release with the mount error and still records a status', async () => {
      sandbox = new Sandbox();
      const init = await start(['true'], {
        cloneNamespaces: ['mnt'],
        mounts: [{ target: join(sandbox.dir, 'm'), type: 'nosuchfs' }],
      });
      await expect(init.release()).rejects.toThrow(/mount 'nosuchfs' at '.*\/m': No such device/);
      expect(await init.exited).toBe(127 << 8);
    });

    it('keeps an init whose setup failed alive until its release, which then fails', async () => {
      sandbox = new Sandbox();
      const init = await start(['true'], {
        cloneNamespaces: ['mnt'],
        mounts: [{ target: join(sandbox.dir, 'm'), type: 'nosuchfs' }],
      });
      // Long enough for the failure to be reported: the agent may still be isolating this pid.
      // The init opens its stderr file itself, after the spawner has replied `ready`.
      await waitFor('the mount error on stderr', () => sandbox.stderrSoFar().includes('nosuchfs'));
      await sleep(50);
      expect(isAlive(init.pid)).toBe(true);
      await expect(init.release()).rejects.toThrow(/mount 'nosuchfs' at '.*\/m': No such device/);
      expect(await init.exited).toBe(127 << 8);
    });
  },
);

describeOnKernel('container init: rlimits, cwd, environment', { root: true }, () => {
  it('applies the requested soft and hard limits', async () => {
    sandbox = new Sandbox();
    const init = await start(['/bin/sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -c'], {
      rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }, { type: 'RLMT_CORE' }],
    });
    await init.release();
    expect(await init.exited).toBe(0);
    expect(sandbox.stdout()).toBe('64\n128\nunlimited\n');
  });

  it('reports an rlimit the kernel refuses', async () => {
    sandbox = new Sandbox();
    const init = await start(['true'], { rlimits: [{ type: 'RLMT_NOFILE', soft: 10, hard: 5 }] });
    await expect(init.release()).rejects.toThrow('setrlimit NOFILE:10:5: Invalid argument');
    expect(await init.exited).toBe(127 << 8);
  });

  it('creates the working directory, passes the environment and adds a PATH', async () => {
    sandbox = new Sandbox();
    const cwd = join(sandbox.dir, 'a', 'b');
    const init = await start(['/bin/sh', '-c', 'pwd; echo "$GREETING"; echo "$PATH"'], {
      workingDirectory: cwd,
      environment: { GREETING: 'hello world' },
    });
    await init.release();
    expect(await init.exited).toBe(0);
    expect(sandbox.stdout()).toBe(
      `${cwd}\nhello world\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`,
    );
  });
});

describeOnKernel('container init: exec failure, signals and status', { root: true }, () => {
  it('rejects release naming the command and the errno text, leaving nothing running', async () => {
    sandbox = new Sandbox();
    const init = await start(['corral-no-such-command', 'arg']);
    const error = await init.release().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as LaunchError).code).toBe('CORRAL_LAUNCH_FAILED');
    expect((error as LaunchError).message).toBe(
      "exec 'corral-no-such-command': No such file or directory",
    );
    expect(await init.exited).toBe(127 << 8);
    expect(isAlive(init.pid)).toBe(false);
    expect(childrenOf(init.pid)).toEqual([]);
  });

  it('forwards SIGTERM to the command, whose death by it is the status', async () => {
    sandbox = new Sandbox();
    const init = await start(['sleep', '30']);
    await init.release();
    const command = await commandOf(init.pid);
    process.kill(init.pid, 'SIGTERM');
    expect(await init.exited).toBe(15);
    expect(isAlive(command)).toBe(false);
  });

  it('dies of a signal that arrives before the command exists, recording it', async () => {
    sandbox = new Sandbox();
    const marker = join(sandbox.dir, 'marker');
    const init = await start(['touch', marker]);
    process.kill(init.pid, 'SIGTERM');
    expect(await init.exited).toBe(15);
    expect(readFileSync(sandbox.statusFile, 'utf8')).toBe('15\n');
    expect(existsSync(marker)).toBe(false);
  });

  it('writes the exit status atomically, leaving no temporary file', async () => {
    sandbox = new Sandbox();
    const init = await start(['/bin/sh', '-c', 'exit 3']);
    await init.release();
    expect(await init.exited).toBe(768);
    expect(readFileSync(sandbox.statusFile, 'utf8')).toBe('768\n');
    expect(readdirSync(sandbox.dir).filter((name) => name.includes('status'))).toEqual(['status']);
  });

  it('adopts and reaps daemonised descendants while the command runs', async () => {
    sandbox = new Sandbox();
    const init = await start(['/bin/sh', '-c', '(sleep 30 &) ; sleep 30']);
    await init.release();
    const command = await commandOf(init.pid);
    // The orphaned `sleep` is reparented to the init (a subreaper), which must reap it when it
    // ends; the test ends it, rather than racing a short sleep.
    await waitFor('the daemon to be adopted', () => childrenOf(init.pid).length === 2);
    const daemon = childrenOf(init.pid).find((pid) => pid !== command) ?? 0;
    process.kill(daemon, 'SIGKILL');
    await waitFor('the daemon to be reaped', () => childrenOf(init.pid).length === 1, 2000);
    expect(childrenOf(init.pid)).toEqual([command]);
    process.kill(command, 'SIGKILL');
    expect(await init.exited).toBe(9);
  });
});
