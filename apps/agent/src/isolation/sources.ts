import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isValidIsolatorName } from '@corral/core';
import { BUILTIN_ISOLATOR_PACKAGES } from './builtin.ts';
import { IsolatorPackageError, ModulesFileError, UnknownIsolatorError } from './errors.ts';

/** Where one isolator name comes from. */
export interface IsolatorSource {
  readonly name: string;
  /** The package name or path, as the operator wrote it (for messages). */
  readonly specifier: string;
  readonly origin: 'builtin' | 'modules';
  /** Directory that `specifier` resolves from (modules only; built-ins resolve from the agent). */
  readonly resolveFrom?: string;
}

export interface ModulesOptions {
  /** `--modules`: JSON file `{"isolators": {"acme/gpu": "@acme/corral-gpu" | "./path"}}`. */
  readonly modulesFile?: string;
  /** `--modules_dir`: where third-party packages are installed (its node_modules). */
  readonly modulesDir?: string;
}

/** Reads the --modules mapping; names are validated, paths are made absolute. */
export function readModulesFile(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ModulesFileError(
      `Cannot read --modules file '${file}': ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const isolators = (parsed as { isolators?: unknown } | null)?.isolators;
  if (typeof isolators !== 'object' || isolators === null || Array.isArray(isolators)) {
    throw new ModulesFileError(
      `--modules file '${file}' must contain {"isolators": {"<namespace/name>": "<package or path>"}}`,
    );
  }
  const mapping = new Map<string, string>();
  for (const [name, specifier] of Object.entries(isolators)) {
    if (!isValidIsolatorName(name)) {
      throw new ModulesFileError(
        `--modules file '${file}': '${name}' is not a 'namespace/name' isolator name`,
      );
    }
    if (typeof specifier !== 'string' || specifier === '') {
      throw new ModulesFileError(
        `--modules file '${file}': isolator '${name}' must map to a package name or path`,
      );
    }
    const isPath = specifier.startsWith('.') || isAbsolute(specifier);
    mapping.set(name, isPath ? resolve(dirname(file), specifier) : specifier);
  }
  return mapping;
}

function declaredIsolators(packageDir: string): string[] {
  const manifestFile = join(packageDir, 'package.json');
  if (!existsSync(manifestFile)) return [];
  try {
    const declared = (
      JSON.parse(readFileSync(manifestFile, 'utf8')) as { corral?: { isolators?: unknown } }
    ).corral?.isolators;
    return Array.isArray(declared)
      ? declared.filter((name): name is string => typeof name === 'string')
      : [];
  } catch {
    return []; // Not a package we can read: not an isolator package either.
  }
}

/**
 * The isolators installed in `--modules_dir`: every package in its node_modules (scoped ones
 * too) whose package.json declares `"corral": {"isolators": ["acme/gpu", …]}`. So an operator
 * only runs `npm install <package>` there and names the isolator in --isolation.
 */
export function discoverModulesDir(modulesDir: string): Map<string, string> {
  const root = join(modulesDir, 'node_modules');
  const found = new Map<string, string>();
  if (!existsSync(root)) return found;
  const packageDirs = readdirSync(root).flatMap((entry) => {
    if (entry.startsWith('.')) return [];
    const dir = join(root, entry);
    return entry.startsWith('@') ? readdirSync(dir).map((scoped) => join(dir, scoped)) : [dir];
  });
  for (const packageDir of packageDirs) {
    for (const name of declaredIsolators(packageDir)) {
      if (!isValidIsolatorName(name)) continue;
      const other = found.get(name);
      if (other !== undefined) {
        throw new ModulesFileError(
          `Isolator '${name}' is declared by two packages in --modules_dir: '${other}' and '${packageDir}'; uninstall one or map the name with --modules`,
        );
      }
      found.set(name, packageDir);
    }
  }
  return found;
}

/** Every isolator name the agent can resolve with these options (for messages and --help). */
export function knownIsolatorNames(mapping: ReadonlyMap<string, string>): string[] {
  return [...new Set([...BUILTIN_ISOLATOR_PACKAGES.keys(), ...mapping.keys()])].sort();
}

/**
 * Maps an `--isolation` name to its package: the built-in table first, then the --modules mapping.
 * Never the agent's current directory: third-party packages resolve from --modules_dir (or, without
 * it, from the --modules file's directory).
 */
export function resolveIsolatorSource(
  name: string,
  mapping: ReadonlyMap<string, string>,
  options: ModulesOptions,
): IsolatorSource {
  const builtin = BUILTIN_ISOLATOR_PACKAGES.get(name);
  if (builtin) return { name, specifier: builtin, origin: 'builtin' };
  const mapped = mapping.get(name);
  if (mapped === undefined) throw new UnknownIsolatorError(name, knownIsolatorNames(mapping));
  const resolveFrom =
    options.modulesDir ?? (options.modulesFile ? dirname(resolve(options.modulesFile)) : undefined);
  return { name, specifier: mapped, origin: 'modules', ...(resolveFrom ? { resolveFrom } : {}) };
}

function packageEntry(packageDir: string): string | undefined {
  const manifestFile = join(packageDir, 'package.json');
  if (!existsSync(manifestFile)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    exports?: unknown;
    main?: string;
  };
  const root = (manifest.exports as Record<string, unknown> | undefined)?.['.'] ?? manifest.exports;
  const target =
    typeof root === 'string'
      ? root
      : ((root as Record<string, unknown> | undefined)?.import ??
        (root as Record<string, unknown> | undefined)?.default ??
        manifest.main ??
        'index.js');
  return typeof target === 'string' ? join(packageDir, target) : undefined;
}

/** The file URL to import for a source. */
export function resolveEntry(source: IsolatorSource): string {
  if (source.origin === 'builtin') return import.meta.resolve(source.specifier);
  const notFound = (where: string) =>
    new IsolatorPackageError(
      source.name,
      `package '${source.specifier}' not found ${where} (install it there with 'npm install ${source.specifier}', or fix the --modules mapping)`,
    );
  if (isAbsolute(source.specifier)) {
    const entry = statSync(source.specifier, { throwIfNoEntry: false })?.isDirectory()
      ? packageEntry(source.specifier)
      : source.specifier;
    if (!entry || !existsSync(entry)) throw notFound(`at '${source.specifier}'`);
    return pathToFileURL(entry).href;
  }
  if (!source.resolveFrom) {
    throw new IsolatorPackageError(
      source.name,
      `cannot resolve package '${source.specifier}': give --modules_dir, the directory where it is installed`,
    );
  }
  const where = `in '${source.resolveFrom}'`;
  try {
    return pathToFileURL(
      createRequire(join(source.resolveFrom, 'noop.js')).resolve(source.specifier),
    ).href;
  } catch {
    // ESM-only packages (exports without a require/default condition) need a manual lookup.
    const entry = packageEntry(join(source.resolveFrom, 'node_modules', source.specifier));
    if (!entry || !existsSync(entry)) throw notFound(where);
    return pathToFileURL(entry).href;
  }
}
