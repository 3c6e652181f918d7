import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CniConfigError } from '../errors.ts';
import { CNI_NAME } from '../ids.ts';
import { findPlugin, type PluginRunner, runPlugin } from '../plugin/exec.ts';

/** CNI versions Corral speaks: results of all of them are read, configs may ask for any. */
export const CNI_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

export type PluginConfig = Readonly<Record<string, unknown>> & { readonly type: string };

/** One network as a list of plugins (a single-plugin `.conf` becomes a one-element list). */
export interface NetworkConfig {
  readonly name: string;
  readonly file: string;
  readonly cniVersion: string;
  readonly plugins: readonly PluginConfig[];
  /** The binary of each plugin, found on the search path at start-up. */
  readonly binaries: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const versionRank = (version: string) =>
  CNI_VERSIONS.indexOf(version as (typeof CNI_VERSIONS)[number]);

/** The version a config speaks: the highest of `cniVersions` Corral knows, else `cniVersion`. */
function versionOf(config: Record<string, unknown>, file: string): string {
  const fail = (problem: string): never => {
    throw new CniConfigError(file, problem);
  };
  const known = `Corral speaks CNI ${CNI_VERSIONS.join(', ')}`;
  if (Array.isArray(config.cniVersions)) {
    const usable = config.cniVersions.filter(
      (v): v is string => typeof v === 'string' && versionRank(v) >= 0,
    );
    if (usable.length === 0)
      fail(`none of cniVersions ${JSON.stringify(config.cniVersions)} is one ${known} knows`);
    return usable.sort((a, b) => versionRank(b) - versionRank(a))[0] as string;
  }
  const version = config.cniVersion ?? '0.1.0';
  if (typeof version !== 'string' || versionRank(version) < 0) {
    fail(`cniVersion ${JSON.stringify(version)} is not one ${known}`);
  }
  return version as string;
}

function readConfig(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CniConfigError(
      file,
      `not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isRecord(parsed)) throw new CniConfigError(file, 'must be a JSON object');
  return parsed;
}

/** A file as a plugin list: `.conflist` as it is, `.conf`/`.json` wrapped as libcni does. */
function asList(file: string): { name: unknown; cniVersion: string; plugins: unknown[] } {
  const config = readConfig(file);
  const cniVersion = versionOf(config, file);
  if (file.endsWith('.conflist')) {
    if (!Array.isArray(config.plugins) || config.plugins.length === 0) {
      throw new CniConfigError(file, "a .conflist needs a non-empty 'plugins' list");
    }
    if (config.plugins.length > 1 && versionRank(cniVersion) < versionRank('0.3.0')) {
      throw new CniConfigError(
        file,
        `chaining plugins needs cniVersion 0.3.0 or later, not ${cniVersion}`,
      );
    }
    return { name: config.name, cniVersion, plugins: config.plugins };
  }
  return { name: config.name, cniVersion, plugins: [config] };
}

function pluginBinary(plugin: unknown, file: string, searchPath: readonly string[]): string {
  if (!isRecord(plugin) || typeof plugin.type !== 'string') {
    throw new CniConfigError(file, "every plugin needs a 'type' naming its binary");
  }
  const binary = findPlugin(plugin.type, searchPath);
  if (!binary) {
    throw new CniConfigError(
      file,
      `plugin '${plugin.type}' is not an executable in --network_cni_plugins_dir (${searchPath.join(':')})`,
    );
  }
  const ipam = plugin.ipam;
  if (isRecord(ipam) && typeof ipam.type === 'string' && !findPlugin(ipam.type, searchPath)) {
    throw new CniConfigError(
      file,
      `IPAM plugin '${ipam.type}' of '${plugin.type}' is not an executable in --network_cni_plugins_dir (${searchPath.join(':')})`,
    );
  }
  return binary;
}

/**
 * Loads every network in `dir`: `.conflist` files, then `.conf` and `.json`, each group sorted
 * by name (libcni's order). Anything Corral cannot serve stops the agent with the file and the
 * reason: bad JSON, an invalid or repeated network name, a version Corral does not speak, a
 * plugin not on the search path, or one whose `VERSION` does not list the network's version.
 */
export async function loadNetworks(
  dir: string,
  runner: PluginRunner,
): Promise<Map<string, NetworkConfig>> {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (error) {
    throw new CniConfigError(
      dir,
      `cannot list --network_cni_config_dir: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const files = [
    ...entries.filter((entry) => entry.endsWith('.conflist')),
    ...entries.filter((entry) => entry.endsWith('.conf') || entry.endsWith('.json')),
  ]
    .map((entry) => join(dir, entry))
    .filter((file) => statSync(file).isFile());
  const networks = new Map<string, NetworkConfig>();
  const versions = new Map<string, Promise<readonly string[]>>();
  for (const file of files) {
    const list = asList(file);
    if (typeof list.name !== 'string' || !CNI_NAME.test(list.name)) {
      throw new CniConfigError(
        file,
        `network name ${JSON.stringify(list.name)} is not letters, digits, '_', '.' and '-' starting with a letter or digit`,
      );
    }
    const earlier = networks.get(list.name);
    if (earlier) {
      throw new CniConfigError(
        file,
        `network '${list.name}' is also defined in '${earlier.file}'; names must be unique`,
      );
    }
    const binaries = list.plugins.map((plugin) => pluginBinary(plugin, file, runner.searchPath));
    for (const [index, binary] of binaries.entries()) {
      let supported = versions.get(binary);
      if (!supported) {
        supported = runPlugin(
          binary,
          { command: 'VERSION' },
          { cniVersion: list.cniVersion },
          runner,
          `VERSION of '${binary}'`,
        ).then((reply) =>
          Array.isArray(reply.supportedVersions)
            ? reply.supportedVersions.filter((v): v is string => typeof v === 'string')
            : [],
        );
        versions.set(binary, supported);
      }
      if (!(await supported).includes(list.cniVersion)) {
        const type = (list.plugins[index] as PluginConfig).type;
        throw new CniConfigError(
          file,
          `plugin '${type}' supports CNI ${(await supported).join(', ')}, not the network's ${list.cniVersion}`,
        );
      }
    }
    networks.set(list.name, {
      name: list.name,
      file,
      cniVersion: list.cniVersion,
      plugins: list.plugins as PluginConfig[],
      binaries,
    });
  }
  return networks;
}

/** Whether `version` has `prevResult` on DEL (0.4.0 and later). */
export function deleteTakesPrevResult(version: string): boolean {
  return versionRank(version) >= versionRank('0.4.0');
}

/** Whether `version` chains results (0.3.0 and later). */
export function chains(version: string): boolean {
  return versionRank(version) >= versionRank('0.3.0');
}
