import { ENGINE_LAUNCH_FIELDS } from '@corral/containerizer';
import { type FlagSpecs, type FlagValues, parseFlags, parseIsolationList } from '@corral/core';
import { LaunchFieldPolicy, ownershipMarkdown } from '../isolation/launch-fields.ts';
import { type LoadedDefinition, loadDefinition } from '../isolation/load.ts';
import {
  discoverModulesDir,
  knownIsolatorNames,
  type ModulesOptions,
  readModulesFile,
  resolveIsolatorSource,
} from '../isolation/sources.ts';
import { agentFlags } from './agent-flags.ts';
import { collectRawFlags, envName, type FlagToken, tokenize, UsageError } from './argv.ts';
import { type Credential, CredentialsError, readCredentials } from './credentials.ts';
import { buildFlagRegistry, type RegisteredFlag } from './flag-registry.ts';

export type AgentFlags = FlagValues<typeof agentFlags>;

/** One enabled isolator, ready to be created. */
export interface IsolatorConfig extends LoadedDefinition {
  readonly flags: Readonly<Record<string, unknown>>;
}

export interface AgentConfig {
  readonly flags: AgentFlags;
  /** In --isolation order. */
  readonly isolators: readonly IsolatorConfig[];
  /** Every flag's effective value as text, secrets left out: what /flags shows. */
  readonly flagsView: Readonly<Record<string, string>>;
  readonly credentials?: readonly Credential[];
  /**
   * Every isolator the agent could load, enabled or not (imported on first call): what a refusal
   * of an unhonoured launch field points to.
   */
  readonly availableIsolators: () => Promise<readonly LoadedDefinition[]>;
}

export type Invocation =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly config: AgentConfig };

type Env = Readonly<Record<string, string | undefined>>;

function modulesOptions(flags: AgentFlags): ModulesOptions {
  return {
    ...(flags.modules === undefined ? {} : { modulesFile: flags.modules }),
    ...(flags.modules_dir === undefined ? {} : { modulesDir: flags.modules_dir }),
  };
}

/** Every known isolator's definition; ones whose package does not load are left out. */
async function loadAllKnown(mapping: ReadonlyMap<string, string>, options: ModulesOptions) {
  const loaded = await Promise.allSettled(
    knownIsolatorNames(mapping).map((name) =>
      loadDefinition(resolveIsolatorSource(name, mapping, options)),
    ),
  );
  return loaded.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
}

function rawObject(raw: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries(raw);
}

async function rejectUnknown(
  unknown: readonly string[],
  enabled: ReadonlySet<string>,
  mapping: ReadonlyMap<string, string>,
  options: ModulesOptions,
): Promise<void> {
  const [first] = unknown;
  if (first === undefined) return;
  const owners = (await loadAllKnown(mapping, options))
    .filter(({ definition }) => !enabled.has(definition.name))
    .filter(({ definition }) => Object.hasOwn(definition.flags ?? {}, first))
    .map(({ definition }) => `'${definition.name}'`);
  if (owners.length > 0) {
    throw new UsageError(
      `Flag --${first} belongs to isolator ${owners.join(' or ')}, which is not enabled in --isolation`,
    );
  }
  throw new UsageError(`Unknown flag --${first} (corral-agent --help lists every flag)`);
}

function flagsView(
  registry: ReadonlyMap<string, RegisteredFlag>,
  raw: ReadonlyMap<string, string>,
) {
  const view: Record<string, string> = {};
  for (const [name, { spec }] of [...registry].sort(([a], [b]) => a.localeCompare(b))) {
    if (spec.secret) continue;
    const value = raw.get(name) ?? (spec.default === undefined ? undefined : String(spec.default));
    if (value !== undefined) view[name] = value;
  }
  return view;
}

function credentialsFor(flags: AgentFlags): Credential[] | undefined {
  const credentials =
    flags.http_credentials === undefined ? undefined : readCredentials(flags.http_credentials);
  for (const realm of ['readonly', 'readwrite'] as const) {
    if (flags[`authenticate_http_${realm}`] && !credentials) {
      throw new CredentialsError(
        `--authenticate_http_${realm} needs --http_credentials: basic authentication has no credentials to check`,
      );
    }
  }
  return credentials;
}

function helpText(definitions: readonly LoadedDefinition[]): string {
  const owners = definitions.map(({ definition }) => definition);
  const describeFlags = (flags: FlagSpecs | undefined) => {
    const entries = Object.entries(flags ?? {});
    if (entries.length === 0) return ['    (no flags)'];
    return entries.map(([name, spec]) => {
      const usage = spec.type === 'boolean' ? `--[no-]${name}` : `--${name}=<${spec.type}>`;
      const fallback = spec.default === undefined ? '' : ` (default: ${String(spec.default)})`;
      return `    ${usage}\n        ${spec.help}${fallback}; ${spec.accepted}; env ${envName(name)}`;
    });
  };
  const lines = [
    'Usage: corral-agent [--name=value ...]',
    '',
    'Every flag can also be set with the environment variable CORRAL_<NAME>; the command line wins.',
    '',
    'Agent flags:',
    ...describeFlags(agentFlags),
  ];
  for (const { definition, source } of definitions) {
    lines.push('', `Isolator ${definition.name} (${source.specifier}): ${definition.description}`);
    lines.push(...describeFlags(definition.flags));
  }
  lines.push(
    '',
    'Launch fields (LAUNCH_CONTAINER) and what honours them; a launch that sets a field nothing',
    'enabled honours is refused with 400:',
    '',
    ownershipMarkdown(LaunchFieldPolicy.table(ENGINE_LAUNCH_FIELDS, owners)),
  );
  return lines.join('\n');
}

/**
 * Turns argv and the environment into the agent's configuration: parses the agent flags, resolves
 * and imports every isolator in --isolation, validates each flag with the spec of the isolator
 * that declares it. Any problem throws an error with one clear line.
 */
export async function loadConfig(argv: readonly string[], env: Env): Promise<Invocation> {
  const commandLine = tokenize(argv);
  if (commandLine.version) return { kind: 'version' };

  const agentOnly = buildFlagRegistry([{ owner: 'agent', flags: agentFlags }]);
  const agentTokens = commandLine.tokens.filter((token: FlagToken) => agentOnly.has(token.name));
  const early = collectRawFlags(
    agentTokens,
    env,
    new Map([...agentOnly].map(([n, f]) => [n, f.spec])),
  );
  const bootstrap = parseFlags(agentFlags, rawObject(early.raw));
  const options = modulesOptions(bootstrap);
  // An explicit --modules entry wins over a package discovered in --modules_dir.
  const mapping = new Map([
    ...(options.modulesDir ? discoverModulesDir(options.modulesDir) : []),
    ...(options.modulesFile ? readModulesFile(options.modulesFile) : []),
  ]);

  if (commandLine.help)
    return { kind: 'help', text: helpText(await loadAllKnown(mapping, options)) };

  const names = parseIsolationList(bootstrap.isolation);
  const loaded: LoadedDefinition[] = [];
  for (const name of names)
    loaded.push(await loadDefinition(resolveIsolatorSource(name, mapping, options)));

  const registry = buildFlagRegistry([
    { owner: 'agent', flags: agentFlags },
    ...loaded.map(({ definition }) => ({ owner: definition.name, flags: definition.flags })),
  ]);
  const { raw, unknown } = collectRawFlags(
    commandLine.tokens,
    env,
    new Map([...registry].map(([name, flag]) => [name, flag.spec])),
  );
  await rejectUnknown(unknown, new Set(names), mapping, options);

  const values = rawObject(raw);
  const flags = parseFlags(agentFlags, values);
  const isolators = loaded.map((entry) => ({
    ...entry,
    flags: parseFlags(entry.definition.flags ?? {}, values) as Readonly<Record<string, unknown>>,
  }));
  const credentials = credentialsFor(flags);
  return {
    kind: 'run',
    config: {
      flags,
      isolators,
      flagsView: flagsView(registry, raw),
      ...(credentials ? { credentials } : {}),
      availableIsolators: () => loadAllKnown(mapping, options),
    },
  };
}
