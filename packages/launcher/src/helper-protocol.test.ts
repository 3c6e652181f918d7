import { describe, expect, it } from 'vitest';
import { LaunchError } from './errors.ts';
import { encodeFrame, FrameDecoder, helperArguments, launchRequest } from './helper-protocol.ts';
import type { InitSpec } from './launcher.ts';

const spec: InitSpec = {
  argv: ['/bin/sh', '-c', 'echo "$A"'],
  environment: { A: 'b' },
  workingDirectory: '/work/dir',
  cloneNamespaces: [],
  mounts: [],
  rlimits: [],
  statusFile: '/run/c1/status',
  stdoutFile: '/run/c1/stdout',
  stderrFile: '/run/c1/stderr',
};

describe('helperArguments', () => {
  it('encodes a plain command with its cwd and status file, argv after --', () => {
    expect(helperArguments(spec)).toEqual([
      '--cwd=/work/dir',
      '--status-file=/run/c1/status',
      '--',
      '/bin/sh',
      '-c',
      'echo "$A"',
    ]);
  });

  it('encodes each mount as five arguments, rlimits and the hostname', () => {
    const args = helperArguments({
      ...spec,
      cloneNamespaces: ['ipc', 'mnt', 'uts'],
      mounts: [
        {
          target: '/dev/shm',
          type: 'tmpfs',
          flags: ['nosuid', 'nodev'],
          options: 'size=1m,mode=1777',
        },
        { source: '/a,b', target: '/c d', flags: ['bind', 'rec'] },
      ],
      rlimits: [{ type: 'RLMT_NOFILE', soft: 64, hard: 128 }, { type: 'RLMT_CORE' }],
      hostname: 'box',
    });
    expect(args.slice(0, args.indexOf('--'))).toEqual([
      '--mount',
      '',
      '/dev/shm',
      'tmpfs',
      'nosuid,nodev',
      'size=1m,mode=1777',
      '--mount',
      '/a,b',
      '/c d',
      '',
      'bind,rec',
      '',
      '--rlimit=NOFILE:64:128',
      '--rlimit=CORE:unlimited:unlimited',
      '--cwd=/work/dir',
      '--hostname=box',
      '--status-file=/run/c1/status',
    ]);
  });

  it('encodes the user, groups, capability masks and no_new_privs before the separator', () => {
    const args = helperArguments({
      ...spec,
      user: { uid: 65534, gid: 65534 },
      groups: [65534, 27],
      effectiveCapabilities: ['CAP_NET_BIND_SERVICE'],
      boundingCapabilities: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE', 'CAP_CHECKPOINT_RESTORE'],
      noNewPrivileges: true,
    });
    expect(args.slice(1, args.indexOf('--'))).toEqual([
      '--user=65534:65534',
      '--groups=65534,27',
      '--cap-effective=400',
      '--cap-bounding=10000000401',
      '--no-new-privs',
      '--status-file=/run/c1/status',
    ]);
    expect(helperArguments({ ...spec, groups: [], effectiveCapabilities: [] })).toContain(
      '--groups=',
    );
  });

  it.each([
    [{ user: { uid: -1, gid: 0 } }, 'Invalid uid -1: expected an integer from 0 to 4294967294'],
    [{ user: { uid: 0, gid: 4294967295 } }, 'Invalid gid 4294967295'],
    [{ groups: [1.5] }, 'Invalid group 1.5'],
    [{ effectiveCapabilities: ['CAP_FLY'] }, "Unknown capability 'CAP_FLY' in the effective set"],
  ] as const)('refuses %o', (privileges, message) => {
    expect(() => helperArguments({ ...spec, ...privileges })).toThrow(message);
  });

  it('keeps an argv that looks like helper options after the separator', () => {
    const args = helperArguments({ ...spec, argv: ['--ns=net', '--'] });
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '--ns=net', '--']);
  });

  it.each([
    [{ type: 'RLMT_NOFILE', soft: 64 }, /both set or both unset/],
    [{ type: 'RLMT_NOFILE', soft: -1, hard: 2 }, /Invalid rlimit value -1 for RLMT_NOFILE/],
    [{ type: 'RLMT_STACK', soft: 1.5, hard: 2 }, /Invalid rlimit value 1.5/],
  ] as const)('refuses rlimit %o', (rlimit, message) => {
    expect(() => helperArguments({ ...spec, rlimits: [rlimit] })).toThrow(message);
    expect(() => helperArguments({ ...spec, rlimits: [rlimit] })).toThrow(LaunchError);
  });

  it('refuses an empty argv', () => {
    expect(() => helperArguments({ ...spec, argv: [] })).toThrow(LaunchError);
  });
});

describe('frames', () => {
  it('encode a length-prefixed payload of NUL-terminated fields', () => {
    const frame = encodeFrame(['release', '7']);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect(frame.subarray(4).toString()).toBe('release\x007\x00');
  });

  it('decode back across arbitrary chunk boundaries, keeping spaces, newlines and UTF-8', () => {
    const sent = [
      ['error', '1', "exec 'a b\nc': No such file or directory"],
      ['ready', '2', '4242', '123456'],
      ['error', '3', 'mount \u00e9t\u00e9 \u2192 /x'],
      ['exit', '2', ''],
    ];
    const bytes = Buffer.concat(sent.map((fields) => encodeFrame(fields)));
    for (const size of [1, 3, 7, bytes.length]) {
      const decoder = new FrameDecoder();
      const received: string[][] = [];
      for (let offset = 0; offset < bytes.length; offset += size) {
        received.push(...decoder.push(bytes.subarray(offset, offset + size)));
      }
      expect(received).toEqual(sent);
    }
  });

  it('refuse a NUL byte, which the framing and execve cannot carry', () => {
    expect(() => encodeFrame(['launch', 'a\0b'])).toThrow(LaunchError);
    const request = launchRequest(1, { ...spec, environment: { A: 'x\0y' } });
    expect(() => encodeFrame(request)).toThrow(/contains a NUL byte/);
  });

  it('carry a launch as the files, the cgroup, the namespaces, the argument count, arguments and environment', () => {
    const withNamespaces: InitSpec = { ...spec, cloneNamespaces: ['ipc', 'mnt'] };
    expect(launchRequest(5, withNamespaces, '/sys/fs/cgroup/corral/c1')).toEqual([
      'launch',
      '5',
      '/run/c1/stdout',
      '/run/c1/stderr',
      '/sys/fs/cgroup/corral/c1',
      'ipc,mnt',
      '6',
      ...helperArguments(withNamespaces),
      'A=b',
    ]);
    expect(launchRequest(6, spec).slice(4, 6)).toEqual(['', '']);
  });
});

describe('LaunchError', () => {
  it('has a stable code and keeps the message', () => {
    const error = new LaunchError("exec 'nosuch': No such file or directory");
    expect(error.code).toBe('CORRAL_LAUNCH_FAILED');
    expect(error.name).toBe('LaunchError');
    expect(error.message).toBe("exec 'nosuch': No such file or directory");
  });
});
