import { constants } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { UsageError } from './errors.ts';

export const DEFAULT_SOCKET = '/run/corral/runtime.sock';

/** runc's global flags, plus Corral's --agent. */
export interface GlobalOptions {
  /** The agent's runtime socket. */
  readonly agent: string;
  /** runc's state directory: accepted; the agent keeps the state (its --work_dir). */
  readonly root?: string;
  readonly log?: string;
  readonly logFormat: 'text' | 'json';
}

export type Verb =
  | {
      readonly verb: 'run';
      readonly id: string;
      readonly bundle: string;
      readonly pidFile?: string;
    }
  | { readonly verb: 'state'; readonly id: string }
  | { readonly verb: 'kill'; readonly id: string; readonly signal: number; readonly all: boolean }
  | { readonly verb: 'delete'; readonly id: string; readonly force: boolean };

export type Invocation =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'call'; readonly global: GlobalOptions; readonly call: Verb };

export const USAGE = `usage: corral-runc [global options] <command> [options] <container-id>

An OCI runtime command (runc's command line) backed by the node's corral-agent.

commands:
  run [--bundle|-b DIR] [--pid-file FILE] ID   run the bundle's container; exit with its status
  state ID                                     print the container's OCI state as JSON
  kill [--all|-a] ID [SIGNAL]                  send SIGNAL (default SIGTERM) to the container
  delete [--force|-f] ID                       remove a stopped container (--force: kill it first)

global options:
  --agent PATH        the agent's runtime socket (default ${DEFAULT_SOCKET}, env CORRAL_RUNTIME_SOCKET)
  --root DIR          accepted for runc compatibility; the agent keeps container state
  --log FILE          also append errors to FILE
  --log-format FMT    text (default) or json, for --log
  --rootless VALUE    accepted for runc compatibility; the agent decides by the caller's uid
  --debug             accepted for runc compatibility
  --version, --help
`;

/** runc's global flags come before the command; each takes a value except --debug. */
const GLOBAL_FLAGS = new Set(['agent', 'root', 'log', 'log-format', 'rootless', 'debug']);

/** A signal as runc takes it: `KILL`, `SIGKILL` or `9`. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number >= 1 && number <= 64) return number;
  }
  const name = (text.startsWith('SIG') ? text : `SIG${text}`).toUpperCase();
  const number = constants.signals[name as keyof typeof constants.signals];
  if (number === undefined) {
    throw new UsageError(
      `unknown signal ${JSON.stringify(text)}: use a name (TERM, SIGKILL) or a number from 1 to 64`,
    );
  }
  return number;
}

function parseGlobals(argv: readonly string[], env: Readonly<Record<string, string | undefined>>) {
  const values: Record<string, string> = {};
  let index = 0;
  for (; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (!token.startsWith('-')) break;
    const [flag = '', inline] = token.replace(/^--?/, '').split(/=(.*)/s, 2);
    if (flag === 'help' || flag === 'h') return { help: true as const };
    if (flag === 'version' || flag === 'v') return { version: true as const };
    if (!GLOBAL_FLAGS.has(flag)) {
      throw new UsageError(
        `unknown global option ${JSON.stringify(token)}; see 'corral-runc --help'`,
      );
    }
    if (flag === 'debug') continue;
    const value = inline ?? argv[++index];
    if (value === undefined) throw new UsageError(`--${flag} needs a value`);
    values[flag] = value;
  }
  const logFormat = values['log-format'] ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') {
    throw new UsageError(`--log-format must be text or json, got ${JSON.stringify(logFormat)}`);
  }
  const global: GlobalOptions = {
    agent: values.agent ?? env.CORRAL_RUNTIME_SOCKET ?? DEFAULT_SOCKET,
    ...(values.root === undefined ? {} : { root: values.root }),
    ...(values.log === undefined ? {} : { log: values.log }),
    logFormat,
  };
  return { global, rest: argv.slice(index) };
}

function oneId(positionals: readonly string[], verb: string, extra = 0): string {
  const id = positionals[0];
  if (id === undefined || positionals.length > 1 + extra) {
    throw new UsageError(
      `'${verb}' takes ${extra ? 'a container id and a signal' : 'one container id'}; see 'corral-runc --help'`,
    );
  }
  return id;
}

/** argv (without node and the script) and the environment to what to do. */
export function parseInvocation(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Invocation {
  const globals = parseGlobals(argv, env);
  if ('help' in globals) return { kind: 'help' };
  if ('version' in globals) return { kind: 'version' };
  const { global, rest } = globals;
  const [verb, ...args] = rest;
  const parse = (options: ParseArgsOptionsConfig) => {
    try {
      return parseArgs({ args, options, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(`${verb}: ${(error as Error).message.split('. ')[0]}`);
    }
  };
  switch (verb) {
    case 'run': {
      const { values, positionals } = parse({
        bundle: { type: 'string', short: 'b' },
        'pid-file': { type: 'string' },
      });
      const bundle = typeof values.bundle === 'string' ? values.bundle : cwd;
      const pidFile = values['pid-file'];
      return {
        kind: 'call',
        global,
        call: {
          verb,
          id: oneId(positionals, verb),
          bundle: isAbsolute(bundle) ? bundle : resolve(cwd, bundle),
          ...(typeof pidFile === 'string' ? { pidFile: resolve(cwd, pidFile) } : {}),
        },
      };
    }
    case 'state': {
      const { positionals } = parse({});
      return { kind: 'call', global, call: { verb, id: oneId(positionals, verb) } };
    }
    case 'kill': {
      const { values, positionals } = parse({ all: { type: 'boolean', short: 'a' } });
      const id = oneId(positionals, verb, 1);
      const signal = parseSignal(positionals[1] ?? 'SIGTERM');
      return { kind: 'call', global, call: { verb, id, signal, all: values.all === true } };
    }
    case 'delete': {
      const { values, positionals } = parse({ force: { type: 'boolean', short: 'f' } });
      return {
        kind: 'call',
        global,
        call: { verb, id: oneId(positionals, verb), force: values.force === true },
      };
    }
    case undefined:
      throw new UsageError("a command is missing; see 'corral-runc --help'");
    default:
      throw new UsageError(
        `unknown command ${JSON.stringify(verb)}: corral-runc supports run, state, kill and delete (create/start/exec are not supported yet)`,
      );
  }
}
