import { describe, expect, it } from 'vitest';
import { type Invocation, parseInvocation } from './args.ts';
import { COMMANDS } from './commands/index.ts';
import { UsageError } from './errors.ts';

const parse = (argv: string[], env: Record<string, string> = {}) =>
  parseInvocation(argv, env, COMMANDS);

function run(argv: string[], env: Record<string, string> = {}) {
  const invocation = parse(argv, env);
  if (invocation.kind !== 'run') throw new Error(`expected a run, got ${invocation.kind}`);
  return invocation;
}

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parse(argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseInvocation', () => {
  it('finds the command after global options, with their values, and takes them anywhere', () => {
    const before = run(['--agent', 'http://10.0.0.5:6000', '--json', 'ps']);
    expect([before.command.name, before.connection.url, before.json]).toEqual([
      'ps',
      'http://10.0.0.5:6000',
      true,
    ]);
    const after = run(['kill', 'web-1', '--json', '--agent=localhost:7000', '--signal', 'TERM']);
    expect(after.command.name).toBe('kill');
    expect(after.args.operands).toEqual(['web-1']);
    expect(after.args.values.signal).toBe('TERM');
    expect(after.connection.url).toBe('http://localhost:7000');
  });

  it('defaults the agent URL, takes CORRAL_* from the environment, and lets flags win', () => {
    expect(run(['ps']).connection).toEqual({ url: 'http://127.0.0.1:5051' });
    const env = { CORRAL_AGENT: 'http://a:1/', CORRAL_PRINCIPAL: 'ops', CORRAL_SECRET: 's' };
    expect(run(['ps'], env).connection).toEqual({
      url: 'http://a:1',
      principal: 'ops',
      secret: 's',
    });
    expect(
      run(['ps', '--agent', 'http://b:2', '--principal', 'me', '--secret', 't'], env).connection,
    ).toEqual({ url: 'http://b:2', principal: 'me', secret: 't' });
    expect(run(['ps'], { CORRAL_AGENT: '' }).connection.url).toBe('http://127.0.0.1:5051');
  });

  it('refuses a bad agent URL and half the credentials', () => {
    expect(usageError(['ps', '--agent', 'ftp://x'])).toMatch(/must be an http:\/\/ or https:\/\//);
    expect(usageError(['ps', '--agent', 'http://[bad'])).toMatch(/is not a URL/);
    expect(usageError(['ps', '--principal', 'ops'])).toMatch(
      /--principal and --secret go together/,
    );
  });

  it("splits launch's options from the command after --, which may have options of its own", () => {
    const launch = run([
      'launch',
      '--id',
      'x',
      '--env',
      'A=1',
      '--env',
      'B=2',
      '--',
      'ls',
      '-l',
      '--json',
    ]);
    expect(launch.args.rest).toEqual(['ls', '-l', '--json']);
    expect(launch.args.values.env).toEqual(['A=1', 'B=2']);
    expect(launch.json).toBe(false);
    expect(run(['launch', '--shell', 'echo hi']).args.rest).toBeUndefined();
    expect(usageError(['launch', 'sleep', '1'])).toBe(
      "put the command to run after '--', e.g. 'corral launch -- sleep 1'",
    );
  });

  it('checks operands: one ID, or none', () => {
    expect(usageError(['wait'])).toMatch(/^corral wait needs a container ID/);
    expect(usageError(['rm', 'a', 'b'])).toBe('corral rm takes one container ID, got 2: a b');
    expect(usageError(['ps', 'extra'])).toBe("corral ps takes no arguments, got 'extra'");
    expect(usageError(['logs', 'a', '--', 'b'])).toBe("corral logs takes nothing after '--'");
  });

  it('reports unknown commands and options in one line pointing at the help', () => {
    expect(usageError(['kil', 'x'])).toMatch(
      /^unknown command 'kil'; the commands are launch, ps,/,
    );
    expect(usageError(['ps', '--signal', 'TERM'])).toBe(
      "Unknown option '--signal'; see 'corral ps --help'",
    );
    expect(usageError(['kill', 'x', '--signal'])).toMatch(
      /--signal.*argument missing; see 'corral kill --help'/,
    );
    expect(usageError(['--', 'ps'])).toMatch(/a command must come before '--'/);
  });

  it('answers help and version in every spelling', () => {
    const help = (argv: string[]): Invocation => parse(argv);
    expect(help([])).toEqual({ kind: 'help' });
    expect(help(['--help'])).toEqual({ kind: 'help' });
    expect(help(['-h'])).toEqual({ kind: 'help' });
    expect(help(['--version'])).toEqual({ kind: 'version' });
    for (const argv of [
      ['kill', '--help'],
      ['kill', '-h'],
      ['help', 'kill'],
      ['--agent', 'x', 'kill', '-h'],
    ]) {
      const invocation = help(argv);
      expect(invocation.kind === 'help' && invocation.command?.name).toBe('kill');
    }
    // --help wins over missing operands and bad values.
    expect(help(['wait', '--help']).kind).toBe('help');
    expect(usageError(['help', 'nope'])).toMatch(/^unknown command 'nope'/);
  });
});
