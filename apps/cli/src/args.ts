import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { DEFAULT_AGENT_URL } from './client.ts';
import type { Command, CommandArgs, OptionSpec, OptionValue } from './commands/command.ts';
import { UsageError } from './errors.ts';

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  agent: {
    type: 'string',
    value: 'URL',
    description: `the agent's URL (default ${DEFAULT_AGENT_URL}, env CORRAL_AGENT)`,
  },
  principal: {
    type: 'string',
    value: 'NAME',
    description: 'HTTP basic-auth principal (env CORRAL_PRINCIPAL)',
  },
  secret: {
    type: 'string',
    value: 'SECRET',
    description: 'HTTP basic-auth secret (env CORRAL_SECRET)',
  },
  json: { type: 'boolean', description: 'machine-readable JSON on stdout' },
  help: { type: 'boolean', short: 'h', description: 'this help' },
};

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Connection {
  readonly url: string;
  readonly principal?: string;
  readonly secret?: string;
}

export type Invocation =
  | { readonly kind: 'help'; readonly command?: Command }
  | { readonly kind: 'version' }
  | {
      readonly kind: 'run';
      readonly command: Command;
      readonly args: CommandArgs;
      readonly connection: Connection;
      readonly json: boolean;
    };

function parseConfig(specs: Readonly<Record<string, OptionSpec>>): ParseArgsOptionsConfig {
  const config: ParseArgsOptionsConfig = {};
  for (const [name, spec] of Object.entries(specs)) {
    config[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  return config;
}

/** parseArgs' messages, first sentence only, pointing at the command's help. */
function usageError(error: unknown, where: string): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? message;
  return new UsageError(`${first}; see '${where} --help'`);
}

/** Index of the command word: the first token that is neither a global option nor its value. */
function commandIndex(argv: readonly string[]): number {
  for (let index = 0; index < argv.length; index++) {
    const token = argv[index] ?? '';
    if (token === '--')
      throw new UsageError("a command must come before '--'; see 'corral --help'");
    if (!token.startsWith('-')) return index;
    const name = token.replace(/^--?/, '');
    if (GLOBAL_OPTIONS[name]?.type === 'string') index += 1;
  }
  return -1;
}

function normalizeUrl(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`--agent '${text}' is not a URL; expected e.g. ${DEFAULT_AGENT_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--agent '${text}' must be an http:// or https:// URL`);
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

function connection(values: Readonly<Record<string, OptionValue>>, env: Environment): Connection {
  const pick = (flag: string, variable: string) => {
    const value = values[flag];
    if (typeof value === 'string') return value;
    return env[variable] === '' ? undefined : env[variable];
  };
  const url = normalizeUrl(pick('agent', 'CORRAL_AGENT') ?? DEFAULT_AGENT_URL);
  const principal = pick('principal', 'CORRAL_PRINCIPAL');
  const secret = pick('secret', 'CORRAL_SECRET');
  if ((principal === undefined) !== (secret === undefined)) {
    throw new UsageError(
      '--principal and --secret go together (or CORRAL_PRINCIPAL and CORRAL_SECRET)',
    );
  }
  return {
    url,
    ...(principal === undefined ? {} : { principal }),
    ...(secret === undefined ? {} : { secret }),
  };
}

function checkOperands(command: Command, operands: readonly string[], rest?: readonly string[]) {
  const where = `corral ${command.name}`;
  if (command.operands === 'command') {
    if (operands.length > 0) {
      throw new UsageError(
        `put the command to run after '--', e.g. '${where} -- ${operands.join(' ')}'`,
      );
    }
    return;
  }
  if (rest !== undefined) throw new UsageError(`${where} takes nothing after '--'`);
  if (command.operands === 'none' && operands.length > 0) {
    throw new UsageError(`${where} takes no arguments, got '${operands[0]}'`);
  }
  if (command.operands === 'id' && operands.length !== 1) {
    throw new UsageError(
      operands.length === 0
        ? `${where} needs a container ID (see 'corral ps'); usage: ${command.usage}`
        : `${where} takes one container ID, got ${operands.length}: ${operands.join(' ')}`,
    );
  }
}

/** Turns argv (without node and the script) into what to do. */
export function parseInvocation(
  argv: readonly string[],
  env: Environment,
  commands: readonly Command[],
): Invocation {
  const index = commandIndex(argv);
  if (index === -1) {
    let values: Record<string, OptionValue>;
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: { ...parseConfig(GLOBAL_OPTIONS), version: { type: 'boolean' } },
        strict: true,
      }));
    } catch (error) {
      throw usageError(error, 'corral');
    }
    return values.version === true ? { kind: 'version' } : { kind: 'help' };
  }

  const name = argv[index] ?? '';
  const others = [...argv.slice(0, index), ...argv.slice(index + 1)];
  const find = (wanted: string) => {
    const command = commands.find((candidate) => candidate.name === wanted);
    if (!command) {
      throw new UsageError(
        `unknown command '${wanted}'; the commands are ${commands.map((c) => c.name).join(', ')} (see 'corral --help')`,
      );
    }
    return command;
  };
  if (name === 'help') {
    const topic = others.find((token) => !token.startsWith('-'));
    return topic === undefined ? { kind: 'help' } : { kind: 'help', command: find(topic) };
  }
  const command = find(name);

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: others,
      options: parseConfig({ ...GLOBAL_OPTIONS, ...command.options }),
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw usageError(error, `corral ${command.name}`);
  }
  const { values, tokens = [] } = parsed;
  if (values.help === true) return { kind: 'help', command };

  const terminator = tokens.find((token) => token.kind === 'option-terminator');
  const operands = tokens
    .filter((token) => token.kind === 'positional')
    .filter((token) => terminator === undefined || token.index < terminator.index)
    .map((token) => token.value);
  const rest = terminator === undefined ? undefined : others.slice(terminator.index + 1);
  checkOperands(command, operands, rest);

  const commandValues: Record<string, OptionValue> = {};
  for (const key of Object.keys(command.options)) commandValues[key] = values[key];
  return {
    kind: 'run',
    command,
    args: { values: commandValues, operands, rest },
    connection: connection(values, env),
    json: values.json === true,
  };
}
