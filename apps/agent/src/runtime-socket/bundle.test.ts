import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLaunchFields } from '@corral/core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchCall } from '../http/call-validation.ts';
import { type BundleContext, bundleLaunch, hardLimitsOf } from './bundle.ts';
import { UnsupportedBundleFieldError } from './errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const bundle = join(dir, 'bundle');
mkdirSync(bundle);
symlinkSync('/', join(bundle, 'rootfs'));
mkdirSync(join(bundle, 'elsewhere'));
const userFiles = { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
writeFileSync(
  userFiles.passwd,
  'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n',
);
writeFileSync(userFiles.group, 'root:x:0:\nalice:x:1000:\nslurm:x:64030:alice\n');

const root = { pid: 1, uid: 0, gid: 0 };
const alice = { pid: 2, uid: 1000, gid: 1000 };
const context: BundleContext = {
  containerId: { value: 'oci-test' },
  bundle,
  caller: root,
  ipcIsolator: true,
  userFiles,
  callerHardLimits: () => new Map([['RLIMIT_NOFILE', 4096]]),
};

const base = {
  ociVersion: '1.0.2',
  process: { user: { uid: 0, gid: 0 }, args: ['echo', 'hi'], cwd: '/tmp', env: ['PATH=/bin'] },
  root: { path: 'rootfs' },
  mounts: [],
};

function map(config: Record<string, unknown>, overrides: Partial<BundleContext> = {}) {
  return bundleLaunch({ ...base, ...config }, { ...context, ...overrides });
}

function refusal(config: Record<string, unknown>, overrides: Partial<BundleContext> = {}) {
  try {
    map(config, overrides);
  } catch (error) {
    if (error instanceof UnsupportedBundleFieldError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('bundleLaunch', () => {
  it('maps args, cwd and env onto a launch the API validates', () => {
    const { launchContainer } = map({});
    const call = launchCall({ type: 'LAUNCH_CONTAINER', launch_container: launchContainer });
    expect(call.command.arguments?.slice(-3)).toEqual(['/tmp', 'echo', 'hi']);
    expect(call.command.environment?.variables).toEqual([{ name: 'PATH', value: '/bin' }]);
    expect(call.command.user).toBeUndefined();
    // Without an ipc namespace in the bundle, the container shares the host's.
    expect(call.container?.linux_info?.ipc_mode).toBe('SHARE_PARENT');
  });

  it('asks for a private IPC namespace when the bundle lists one', () => {
    const { launchContainer } = map({ linux: { namespaces: [{ type: 'ipc' }] } });
    expect(launchContainer.container).toEqual({ linux_info: { ipc_mode: 'PRIVATE' } });
  });

  it('sets no ipc_mode without the namespaces/ipc isolator (nothing to tell it)', () => {
    expect(map({}, { ipcIsolator: false }).launchContainer.container).toBeUndefined();
  });

  it('accepts root.path "/" and a link to it; refuses any other root', () => {
    expect(() => map({ root: { path: '/' } })).not.toThrow();
    expect(() => map({ root: { path: join(bundle, 'rootfs') } })).not.toThrow();
    expect(refusal({ root: { path: 'elsewhere' } }).message).toMatch(
      /'root.path'.*not the host root/,
    );
    expect(refusal({ root: { path: 'missing' } }).field).toBe('root.path');
  });

  it('runs a non-root caller as itself whatever the bundle says', () => {
    const { launchContainer } = map({}, { caller: alice });
    expect((launchContainer.command as { user?: string }).user).toBe('alice');
  });

  it("runs root's bundle uid as that user, and refuses a gid that is not its primary group", () => {
    const process = { ...base.process, user: { uid: 1000, gid: 1000, additionalGids: [64030] } };
    expect((map({ process }).launchContainer.command as { user?: string }).user).toBe('alice');
    expect(refusal({ process: { ...process, user: { uid: 1000, gid: 0 } } }).field).toBe(
      'process.user.gid',
    );
    expect(
      refusal({ process: { ...process, user: { uid: 1000, gid: 1000, additionalGids: [0] } } })
        .field,
    ).toBe('process.user.additionalGids');
    expect(refusal({ process: { ...process, user: { uid: 4242, gid: 0 } } }).message).toMatch(
      /4242 has no entry/,
    );
  });

  it('maps memory and CPU onto the requests and limits cgroups/* honour', () => {
    const { launchContainer } = map({
      linux: {
        resources: {
          memory: { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024 },
          cpu: { shares: 512, quota: 50_000, period: 100_000 },
        },
      },
    });
    expect(setLaunchFields(launchContainer)).toEqual([
      'command.value',
      'command.shell',
      'command.arguments',
      'command.environment',
      'container.linux_info.ipc_mode',
      'resources[name=mem]',
      'resources[name=cpus]',
      'limits.mem',
      'limits.cpus',
    ]);
    expect(launchContainer.limits).toEqual({ mem: { value: 64 }, cpus: { value: 0.5 } });
  });

  it('maps rlimits, and keeps a non-root caller under its own hard limits', () => {
    const rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 }];
    const { launchContainer } = map({ process: { ...base.process, rlimits } }, { caller: alice });
    expect(launchContainer.container).toMatchObject({
      rlimit_info: { rlimits: [{ type: 'RLMT_NOFILE', soft: 1024, hard: 2048 }] },
    });
    const raised = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 8192 }];
    expect(
      refusal({ process: { ...base.process, rlimits: raised } }, { caller: alice }).message,
    ).toMatch(/above the caller's own hard limit 4096/);
  });

  it.each([
    ['hooks', { hooks: { prestart: [{ path: '/bin/true' }] } }],
    ['linux.seccomp', { linux: { seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } } }],
    ['process.apparmorProfile', { process: { ...base.process, apparmorProfile: 'x' } }],
    ['process.terminal', { process: { ...base.process, terminal: true } }],
    ['linux.devices', { linux: { devices: [{ path: '/dev/fuse', type: 'c' }] } }],
    ['mounts', { mounts: [{ destination: '/proc', type: 'proc' }] }],
    ['linux.resources.network', { linux: { resources: { network: { classID: 1 } } } }],
    ['linux.namespaces[type=network]', { linux: { namespaces: [{ type: 'network' }] } }],
    [
      'linux.namespaces[type=ipc].path',
      { linux: { namespaces: [{ type: 'ipc', path: '/proc/1/ns/ipc' }] } },
    ],
  ])('refuses %s with one line naming it', (field, config) => {
    const error = refusal(config);
    expect(error.field).toBe(field);
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(`'${field}'`);
  });

  it('ignores properties runtime-spec does not define, as the spec requires', () => {
    expect(() => map({ 'org.example.future': { anything: true } })).not.toThrow();
  });
});

describe('hardLimitsOf', () => {
  it('reads this process hard limits', () => {
    const limits = hardLimitsOf(process.pid);
    expect(limits.get('RLIMIT_NOFILE')).toBeGreaterThan(0);
    expect(limits.size).toBe(16);
  });
});
