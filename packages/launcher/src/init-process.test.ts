import { describe, expect, it } from 'vitest';
import { LaunchError } from './errors.ts';
import { helperArguments } from './init-process.ts';
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

  it('encodes namespaces, each mount as five arguments, rlimits and the hostname', () => {
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
      '--ns=ipc,mnt,uts',
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

describe('LaunchError', () => {
  it('has a stable code and keeps the message', () => {
    const error = new LaunchError("exec 'nosuch': No such file or directory");
    expect(error.code).toBe('CORRAL_LAUNCH_FAILED');
    expect(error.name).toBe('LaunchError');
    expect(error.message).toBe("exec 'nosuch': No such file or directory");
  });
});
