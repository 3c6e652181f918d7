import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  defaultPackageName,
  ScaffoldError,
  type ScaffoldVersions,
  scaffoldFiles,
  writeScaffold,
} from './scaffold.ts';

const USAGE = `Usage: create-corral-isolator <namespace/name> <directory> [--package-name <npm name>]

Creates an isolator package for Corral in <directory> (which must not exist or be empty): a
manifest and isolator skeleton, a README and a conformance test that passes as generated.

  --package-name  npm name of the package (default: corral-isolator-<namespace>-<name>)`;

// What the generated package compiles and tests with; the same majors Corral itself uses.
const TYPESCRIPT_RANGE = '^7.0.2';
const TYPES_NODE_RANGE = '^24.0.0';

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

function readPackageJson(file: string): PackageJson {
  return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
}

/** The package.json of the installed package `name`, found from its entry point upwards. */
function installedPackageJson(name: string): PackageJson {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const found = readPackageJson(file);
      if (found.name === name) return found;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package.json of '${name}'`);
    dir = parent;
  }
}

/**
 * Ranges for the generated package: this testkit's own version and peer ranges. Inside Corral's
 * workspace the core range reads `workspace:^`, so the installed core's version is used instead.
 */
export function scaffoldVersions(): ScaffoldVersions {
  const own = readPackageJson(fileURLToPath(new URL('../package.json', import.meta.url)));
  const coreRange = own.peerDependencies?.['@corral/core'] ?? '';
  return {
    core: coreRange.startsWith('workspace:')
      ? `^${installedPackageJson('@corral/core').version}`
      : coreRange,
    testkit: `^${own.version}`,
    vitest: own.peerDependencies?.vitest ?? '',
    typescript: TYPESCRIPT_RANGE,
    typesNode: TYPES_NODE_RANGE,
  };
}

export interface CliIo {
  /** Relative directories resolve from here (pnpm scripts pass the caller's dir as INIT_CWD). */
  readonly cwd: string;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Runs the command; returns the exit code. */
export function main(argv: readonly string[], io: CliIo): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(USAGE);
    return 0;
  }
  const [isolator, directory, ...rest] = parsed.positionals;
  if (isolator === undefined || directory === undefined || rest.length > 0) {
    io.err(`expected an isolator name and a directory\n\n${USAGE}`);
    return 2;
  }
  const dir = resolve(io.cwd, directory);
  const packageName = parsed.values['package-name'] ?? defaultPackageName(isolator);
  try {
    writeScaffold(dir, scaffoldFiles({ isolator, packageName, versions: scaffoldVersions() }));
  } catch (error) {
    if (!(error instanceof ScaffoldError)) throw error;
    io.err(error.message);
    return 1;
  }
  const relativeDir = relative(io.cwd, dir);
  const shown = relativeDir.startsWith('..') ? dir : relativeDir || '.';
  io.out(
    [
      `Created ${packageName} (isolator ${isolator}) in ${dir}`,
      '',
      'Next:',
      `  cd ${shown}`,
      '  npm install',
      '  npm test',
      '',
      'docs/writing-an-isolator.md in the Corral repository explains the contract.',
    ].join('\n'),
  );
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'package-name': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
}
