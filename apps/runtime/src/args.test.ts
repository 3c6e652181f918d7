import { describe, expect, it } from 'vitest';
import { DEFAULT_SOCKET, parseInvocation, parseSignal } from './args.ts';
import { UsageError } from './errors.ts';

const parse = (argv: string[], env: Record<string, string> = {}) =>
  parseInvocation(argv, env, '/work');

describe('parseInvocation', () => {
  it("takes runc's global flags before the command, as Slurm's oci.conf writes them", () => {
    expect(
      parse([
        '--rootless=true',
        '--root',
        '/run/user/1000',
        '--log',
        'x.log',
        '--log-format=json',
        'run',
        '--bundle',
        'b',
        'n1.alice.42.0.0',
      ]),
    ).toEqual({
      kind: 'call',
      global: { agent: DEFAULT_SOCKET, root: '/run/user/1000', log: 'x.log', logFormat: 'json' },
      call: { verb: 'run', id: 'n1.alice.42.0.0', bundle: '/work/b' },
    });
  });

  it('runs the bundle in the current directory by default, like runc', () => {
    expect(parse(['run', 'id1'])).toMatchObject({ call: { bundle: '/work' } });
  });

  it('finds the socket in --agent, then CORRAL_RUNTIME_SOCKET', () => {
    expect(parse(['state', 'x'], { CORRAL_RUNTIME_SOCKET: '/s' })).toMatchObject({
      global: { agent: '/s' },
    });
    expect(parse(['--agent=/a', 'state', 'x'], { CORRAL_RUNTIME_SOCKET: '/s' })).toMatchObject({
      global: { agent: '/a' },
    });
  });

  it('kills with SIGTERM unless told otherwise; --all and -a', () => {
    expect(parse(['kill', 'x'])).toMatchObject({ call: { signal: 15, all: false } });
    expect(parse(['kill', '-a', 'x', 'KILL'])).toMatchObject({ call: { signal: 9, all: true } });
  });

  it.each([
    [['create', 'x'], /unknown command "create".*run, state, kill and delete/],
    [['--systemd-cgroup', 'run', 'x'], /unknown global option "--systemd-cgroup"/],
    [['state'], /'state' takes one container id/],
    [['kill', 'x', 'TERM', 'more'], /'kill' takes a container id and a signal/],
    [['--log-format=xml', 'state', 'x'], /--log-format must be text or json, got "xml"/],
    [['run', '--detach', 'x'], /run: Unknown option '--detach'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });
});

describe('parseSignal', () => {
  it.each([
    ['KILL', 9],
    ['SIGTERM', 15],
    ['hup', 1],
    ['10', 10],
  ])('%s is %i', (text, number) => {
    expect(parseSignal(text)).toBe(number);
  });

  it('refuses what is not a signal', () => {
    expect(() => parseSignal('SIGNOPE')).toThrow('unknown signal "SIGNOPE"');
    expect(() => parseSignal('65')).toThrow(UsageError);
  });
});
