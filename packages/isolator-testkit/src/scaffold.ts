import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isValidIsolatorName } from '@corral/core';

/** Version ranges the generated package.json asks for. */
export interface ScaffoldVersions {
  readonly core: string;
  readonly testkit: string;
  readonly vitest: string;
  readonly typescript: string;
  readonly typesNode: string;
}

export interface ScaffoldOptions {
  /** `namespace/name`, as operators will write it in `--isolation`. */
  readonly isolator: string;
  /** The npm package name. Default: `corral-isolator-<namespace>-<name>`. */
  readonly packageName?: string;
  readonly versions: ScaffoldVersions;
}

/** A refused scaffold request: the message says what to change. */
export class ScaffoldError extends Error {
  readonly code = 'CORRAL_SCAFFOLD';
}

const PACKAGE_NAME = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

function words(isolator: string): string[] {
  return isolator.split(/[/_-]+/).filter((word) => word !== '');
}

function pascal(isolator: string): string {
  const joined = words(isolator)
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join('');
  return /^[0-9]/.test(joined) ? `Isolator${joined}` : joined;
}

/** `acme/quota` → `acme_quota`: the prefix of its flags (flag names start with a letter). */
function snake(isolator: string): string {
  const joined = words(isolator).join('_');
  return /^[0-9]/.test(joined) ? `x${joined}` : joined;
}

export function defaultPackageName(isolator: string): string {
  return `corral-isolator-${isolator.replace('/', '-').replaceAll('_', '-')}`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * The files of a new isolator package, by relative path: a manifest and an isolator skeleton
 * that already meets the contract (a per-container option, a flag, a checkpoint it recovers and
 * cleans up), a README, and a conformance test that passes as generated.
 */
export function scaffoldFiles(options: ScaffoldOptions): Record<string, string> {
  const { isolator, versions } = options;
  if (!isValidIsolatorName(isolator)) {
    throw new ScaffoldError(
      `'${isolator}' is not an isolator name: expected 'namespace/name' of lowercase letters, digits, '_' or '-', e.g. 'acme/quota'`,
    );
  }
  const packageName = options.packageName ?? defaultPackageName(isolator);
  if (!PACKAGE_NAME.test(packageName) || packageName.length > 214) {
    throw new ScaffoldError(
      `'${packageName}' is not an npm package name: lowercase letters, digits, '-', '.', '_', optionally '@scope/' first`,
    );
  }
  const option = isolator.slice(isolator.indexOf('/') + 1);
  const maxFlag = `${snake(isolator)}_max`;
  const envName = `${snake(isolator).toUpperCase()}_LIMIT`;
  const camel = pascal(isolator).replace(/^./, (first) => first.toLowerCase());
  const factory = `create${pascal(isolator)}Isolator`;

  const packageJson = {
    name: packageName,
    version: '0.1.0',
    description: `Corral isolator ${isolator}`,
    type: 'module',
    sideEffects: false,
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    files: ['dist'],
    engines: { node: '>=24' },
    corral: { isolators: [isolator] },
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: 'tsc -p tsconfig.json',
      test: 'vitest run',
      prepack: 'npm run build',
    },
    peerDependencies: { '@corral/core': versions.core },
    devDependencies: {
      '@corral/core': versions.core,
      '@corral/isolator-testkit': versions.testkit,
      '@types/node': versions.typesNode,
      typescript: versions.typescript,
      vitest: versions.vitest,
    },
  };

  const tsconfig = {
    compilerOptions: {
      target: 'es2024',
      lib: ['es2024'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      declaration: true,
      sourceMap: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ['src', 'test'],
  };

  const tsconfigBuild = {
    extends: './tsconfig.json',
    compilerOptions: { noEmit: false, rootDir: 'src', outDir: 'dist' },
    include: ['src'],
    exclude: ['src/**/*.test.ts'],
  };

  const index = `import { defineIsolator, defineManifest, flag } from '@corral/core';
import { ${factory}, LIMIT_FIELD } from './isolator.ts';

export const ${camel} = defineIsolator({
  name: '${isolator}',
  // One line for the agent's --help.
  description: 'Gives each container a limit of its own (replace with what ${isolator} does)',
  flags: {
    ${maxFlag}: flag.integer({
      help: 'Largest limit a container may ask for',
      min: 1,
      max: 1_000_000,
      default: 100,
    }),
  },
  // What the host must offer; the agent checks it before create(), e.g. { root: true, linux: true }.
  requires: {},
  // The launch fields prepare acts on: the agent refuses launches that set a field nothing honours.
  honours: [LIMIT_FIELD],
  create: (flags, context) =>
    ${factory}({
      max: flags.${maxFlag},
      runtimeDir: context.runtimeDir,
      logger: context.logger,
    }),
});

export default defineManifest(${camel});
export { checkpointPath, ${factory}, LIMIT_FIELD } from './isolator.ts';
`;

  const isolatorSource = `import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ContainerConfig,
  type ContainerID,
  containerIdToString,
  InvalidContainerConfigError,
  type Isolator,
  type Logger,
} from '@corral/core';

/** The per-container option: \`limits["${option}"]\` of the container, e.g. \`{ "value": 10 }\`. */
export const LIMIT_FIELD = 'limits.${option}';

export interface ${pascal(isolator)}Options {
  /** \`--${maxFlag}\`. */
  readonly max: number;
  /** The isolator's own checkpoint directory, \`<runtime_dir>/isolators/${isolator}\`. */
  readonly runtimeDir: string;
  readonly logger: Logger;
}

/** Where the limit of container \`id\` is checkpointed, so a restarted agent can recover it. */
export function checkpointPath(runtimeDir: string, id: ContainerID): string {
  return join(runtimeDir, \`\${containerIdToString(id)}.json\`);
}

/** The container's limit, checked: throw InvalidContainerConfigError naming the field. */
function limitOf(config: ContainerConfig, max: number): number {
  const limit: unknown = config.limits?.['${option}']?.value ?? max;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidContainerConfigError(
      LIMIT_FIELD,
      \`\${JSON.stringify(limit)} is not a whole number from 1 to \${max} (--${maxFlag})\`,
    );
  }
  return limit;
}

/**
 * The ${isolator} isolator. It checkpoints each container's limit in prepare, hands it to the
 * container as $${envName}, rebuilds its state from the checkpoints in recover, and removes
 * the checkpoint in cleanup.
 */
export function ${factory}(options: ${pascal(isolator)}Options): Isolator {
  const limits = new Map<string, number>();

  return {
    recover(states, orphans) {
      // Running containers and orphans alike: the engine cleans up orphans right after.
      for (const id of [...states.map((state) => state.container_id), ...orphans]) {
        const file = checkpointPath(options.runtimeDir, id);
        if (!existsSync(file)) continue; // Launched before ${isolator} was enabled.
        const { limit } = JSON.parse(readFileSync(file, 'utf8')) as { limit: number };
        limits.set(containerIdToString(id), limit);
      }
    },

    prepare(id, config) {
      // Validate before acquiring anything, so a refused container leaves nothing behind.
      const limit = limitOf(config, options.max);
      writeFileSync(checkpointPath(options.runtimeDir, id), JSON.stringify({ limit }));
      limits.set(containerIdToString(id), limit);
      options.logger.info('${isolator} limit set', { container: containerIdToString(id), limit });
      return { environment: { variables: [{ name: '${envName}', value: String(limit) }] } };
    },

    isolate(_id, _pid) {
      // Enforce the limit on the container's init here (e.g. move pid into a cgroup); the
      // command does not run before every isolate has resolved.
    },

    metrics: () => ({ containers: limits.size }),

    cleanup(id) {
      const key = containerIdToString(id);
      if (!limits.has(key)) return; // Never prepared here, or already cleaned up: nothing to do.
      rmSync(checkpointPath(options.runtimeDir, id), { force: true });
      limits.delete(key);
    },
  };
}
`;

  const test = `import { existsSync } from 'node:fs';
import { silentLogger } from '@corral/core';
import { describeIsolatorConformance } from '@corral/isolator-testkit';
import { expect, it } from 'vitest';
import manifest, { checkpointPath, ${factory} } from '../src/index.ts';

const sleeper = (limits: Record<string, { value: number }>) =>
  ({ directory, runtime_directory }: { directory: string; runtime_directory: string }) => ({
    command_info: { value: 'sleep 3600' },
    limits,
    directory,
    runtime_directory,
  });

// The contract every Corral isolator must meet; each failing test names the rule it broke.
describeIsolatorConformance(manifest, {
  source: '${packageName}',
  packageJson: new URL('../package.json', import.meta.url),
  flags: { ${maxFlag}: '50' },
  config: sleeper({ ${JSON.stringify(option)}: { value: 10 } }),
  invalidConfig: sleeper({ ${JSON.stringify(option)}: { value: 51 } }),
  // What ${isolator} holds for a container: its checkpoint file.
  holdsResources: true,
  probe: (id, { context }) => {
    const file = checkpointPath(context.runtimeDir, id);
    return existsSync(file) ? [\`checkpoint \${file}\`] : [];
  },
});

it('hands the limit to the container and refuses one above --${maxFlag}', () => {
  const isolator = ${factory}({ max: 50, runtimeDir: '/nonexistent', logger: silentLogger });
  const config = sleeper({ ${JSON.stringify(option)}: { value: 51 } })({ directory: '/', runtime_directory: '/' });
  expect(() => isolator.prepare?.({ value: 'c1' }, config)).toThrow(
    "'limits.${option}' is invalid: 51 is not a whole number from 1 to 50 (--${maxFlag})",
  );
});
`;

  const readme = `# ${packageName}

The \`${isolator}\` isolator for [Corral](https://github.com/corral): gives each container a limit of
its own, checked at launch and passed to the container as \`$${envName}\`. (Replace this paragraph
with what your isolator does.)

## Install

In the directory the agent's \`--modules_dir\` points at:

\`\`\`sh
npm install ${packageName}
corral-agent --modules_dir=<that directory> --isolation=${isolator},posix/cpu,posix/mem
\`\`\`

The agent finds the isolator through \`"corral": { "isolators": ["${isolator}"] }\` in this
package's package.json. Alternatively map the name in a \`--modules\` file:
\`{"isolators": {"${isolator}": "${packageName}"}}\`.

## What it provides

| isolator | flags | per-container options |
| --- | --- | --- |
| \`${isolator}\` | \`--${maxFlag}\` | \`limits["${option}"].value\` |

### Flags

| flag | values | default | meaning |
| --- | --- | --- | --- |
| \`--${maxFlag}\` | an integer from 1 to 1000000 | \`100\` | largest limit a container may ask for |

### Per-container options

| option | values | default | meaning |
| --- | --- | --- | --- |
| \`limits["${option}"].value\` | 1 to \`--${maxFlag}\` | \`--${maxFlag}\` | the container's limit; anything else fails the launch with \`CORRAL_INVALID_CONTAINER_CONFIG\` |

## Compatibility

Node ≥ 24, isolator API \`corral.isolator/v1\` (\`@corral/core\` ${versions.core}).

## Example

\`\`\`json
{
  "type": "LAUNCH_CONTAINER",
  "launch_container": {
    "container_id": { "value": "job" },
    "command": { "value": "echo $${envName}" },
    "limits": { "${option}": { "value": 10 } }
  }
}
\`\`\`

## Development

\`\`\`sh
npm install
npm test            # the testkit's conformance suite plus your own tests
npm run typecheck
npm pack            # builds dist/ and packs what npm publish would upload
\`\`\`
`;

  return {
    'package.json': json(packageJson),
    'tsconfig.json': json(tsconfig),
    'tsconfig.build.json': json(tsconfigBuild),
    '.gitignore': 'node_modules\ndist\n*.tgz\n',
    'src/index.ts': index,
    'src/isolator.ts': isolatorSource,
    'test/conformance.test.ts': test,
    'README.md': readme,
  };
}

/** Writes `files` under `dir`, which must not exist or be empty. */
export function writeScaffold(dir: string, files: Readonly<Record<string, string>>): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ScaffoldError(`'${dir}' is not empty: choose a new directory for the package`);
  }
  for (const [path, content] of Object.entries(files)) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}
