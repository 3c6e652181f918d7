import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { captureOutput } from '@corral/test-support/child-output';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { CgroupMountError } from '../src/errors.ts';
import { readMounts } from '../src/mounts.ts';
import { readProcCgroups } from '../src/proc-cgroups.ts';
import { prepareV1Hierarchy, unmountHierarchy } from '../src/v1/hierarchy.ts';
import { type HierarchyLease, leaseHierarchy } from './hierarchy-lease.ts';

const HIERARCHY_MODULE = pathToFileURL(
  fileURLToPath(new URL('../src/v1/hierarchy.ts', import.meta.url)),
).href;

/** The visible cgroup mounts whose options include `subsystem`, as /proc/self/mounts lists them. */
function mountsWith(subsystem: string) {
  return readMounts().filter(
    (entry) => entry.type === 'cgroup' && entry.options.includes(subsystem),
  );
}

/**
 * Runs prepareV1Hierarchy(base, 'net_cls') in a separate Node process. It loads, says `ready`,
 * and starts only when told to, so two of them can be released at the same moment.
 */
async function startPreparer(base: string) {
  const code = `
    import { prepareV1Hierarchy } from ${JSON.stringify(HIERARCHY_MODULE)};
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => {
      process.stdout.write('result ' + (await prepareV1Hierarchy(process.argv[1], 'net_cls')) + '\\n');
      process.exit(0);
    });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, base], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const { stdout, stderr } = captureOutput(child);
  const exited = once(child, 'exit');
  while (!stdout().includes('ready\n')) {
    if (child.exitCode !== null) throw new Error(`preparer failed: ${stderr()}`);
    await Promise.race([once(child.stdout, 'data'), exited]);
  }
  return {
    go: () => child.stdin.write('go\n'),
    result: async () => {
      const [code] = await exited;
      if (code !== 0) throw new Error(`preparer exited with ${code}: ${stderr()}`);
      const match = /^result (.*)$/m.exec(stdout());
      if (!match?.[1]) throw new Error(`preparer printed no result: ${stdout()} ${stderr()}`);
      return match[1];
    },
  };
}

/**
 * An enabled subsystem no test mounts and the host has not mounted (perf_event or hugetlb on
 * this kind of host), for tests that must fail before mounting anything.
 */
function freeSubsystem(): string {
  const free = readProcCgroups().find(
    (s) => s.enabled && s.hierarchy === 0 && !s.name.startsWith('net_'),
  );
  expect(free, 'an enabled subsystem attached to no v1 hierarchy').toBeDefined();
  expect(mountsWith(free?.name ?? '')).toEqual([]);
  return free?.name ?? '';
}

describeOnKernel(
  'prepareV1Hierarchy (net_cls)',
  {
    root: true,
    cgroupSubsystems: ['net_cls', 'net_prio'],
    cgroup2: true,
    commands: ['mount', 'umount', 'flock'],
  },
  () => {
    let lease: HierarchyLease | undefined;
    const scratch: string[] = [];

    afterEach(async () => {
      for (const dir of scratch.splice(0)) {
        if (!readMounts().some((entry) => entry.target.startsWith(dir))) {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      await lease?.release();
      lease = undefined;
    });

    it('finds or mounts net_cls, with the subsystems the kernel binds to it', async () => {
      lease = await leaseHierarchy((base) => prepareV1Hierarchy(base, 'net_cls'));
      const { hierarchy } = lease;

      const mounts = mountsWith('net_cls');
      expect(mounts.map((entry) => entry.target)).toEqual([hierarchy]);
      expect(existsSync(join(hierarchy, 'net_cls.classid'))).toBe(true);
      // Whatever is bound to net_cls's hierarchy id is mounted with it (net_prio once paired).
      const subsystems = readProcCgroups();
      const id = subsystems.find((s) => s.name === 'net_cls')?.hierarchy;
      expect(id).not.toBe(0);
      const bound = subsystems.filter((s) => s.hierarchy === id).map((s) => s.name);
      for (const name of bound) expect(mounts[0]?.options).toContain(name);
      // Asking again (for either subsystem of the pair) returns the same mount, mounting nothing.
      expect(await prepareV1Hierarchy('/nonexistent-base', 'net_cls')).toBe(hierarchy);
      if (bound.includes('net_prio')) {
        expect(await prepareV1Hierarchy('/nonexistent-base', 'net_prio')).toBe(hierarchy);
      }
      expect(mountsWith('net_cls')).toHaveLength(1);
    });

    it('two processes racing end on one mount', async () => {
      const results: string[] = [];
      lease = await leaseHierarchy(async (base) => {
        const [a, b] = await Promise.all([
          startPreparer(join(base, 'a')),
          startPreparer(join(base, 'b')),
        ]);
        a.go();
        b.go();
        results.push(await a.result(), await b.result());
        return results[0] ?? '';
      });
      expect(results[1]).toBe(results[0]);
      expect(mountsWith('net_cls').map((entry) => entry.target)).toEqual([lease.hierarchy]);
      const onTarget = readMounts().filter((entry) => entry.target === lease?.hierarchy);
      expect(onTarget).toHaveLength(1);
    });

    it('unmountHierarchy unmounts a cgroup mount and removes its directory', async () => {
      // A second mount of the cgroup2 hierarchy: nothing else uses it, nothing else counts it.
      const dir = mkdtempSync(join(tmpdir(), 'corral-cgroupfs-unmount-'));
      scratch.push(dir);
      const target = join(dir, 'again');
      mkdirSync(target);
      execFileSync('mount', ['-t', 'cgroup2', 'cgroup2', target]);
      expect(readMounts().filter((entry) => entry.target === target)).toHaveLength(1);

      await unmountHierarchy(target);
      expect(readMounts().filter((entry) => entry.target === target)).toHaveLength(0);
      expect(existsSync(target)).toBe(false);
      await expect(unmountHierarchy(target)).resolves.toBeUndefined();
    });

    it('unmountHierarchy refuses a mount that is not a cgroup hierarchy', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'corral-cgroupfs-unmount-'));
      scratch.push(dir);
      execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', dir]);
      try {
        await expect(unmountHierarchy(dir)).rejects.toThrow(
          `Refusing to unmount '${dir}': it is a tmpfs mount, not a cgroup hierarchy`,
        );
        expect(readMounts().filter((entry) => entry.target === dir)).toHaveLength(1);
      } finally {
        execFileSync('umount', [dir]);
      }
    });

    it('refuses to mount without root, and mounts nothing', async () => {
      const free = freeSubsystem();
      const base = mkdtempSync(join(tmpdir(), 'corral-cgroupfs-nonroot-'));
      scratch.push(base);
      const code = `
        import { prepareV1Hierarchy } from ${JSON.stringify(HIERARCHY_MODULE)};
        process.seteuid(65534);
        prepareV1Hierarchy(process.argv[1], process.argv[2]).then(
          (h) => console.log('mounted ' + h),
          (e) => console.log(JSON.stringify({ code: e.code, reason: e.reason, message: e.message })),
        );`;
      const output = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', code, base, free],
        { encoding: 'utf8' },
      );
      expect(JSON.parse(output)).toEqual({
        code: 'CORRAL_CGROUP_MOUNT_ERROR',
        reason: 'not_root',
        message: `Mounting the '${free}' cgroup hierarchy requires root (euid 0)`,
      });
      expect(mountsWith(free)).toEqual([]);
      expect(existsSync(join(base, free))).toBe(false);
    });

    it('refuses to mount inside a cgroup2 hierarchy, where a new directory is a cgroup', async () => {
      const free = freeSubsystem();
      const unified = readMounts().find((entry) => entry.type === 'cgroup2')?.target ?? '';
      const error = await prepareV1Hierarchy(unified, free).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CgroupMountError);
      expect(error).toMatchObject({ reason: 'invalid_target', subsystem: free });
      expect(existsSync(join(unified, free))).toBe(false);
    });
  },
);
