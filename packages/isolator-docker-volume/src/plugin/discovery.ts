import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VolumePluginError } from '../errors.ts';

/** Where a plugin listens. */
export type PluginAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

export interface DiscoveryDirs {
  /** Searched first for `<name>.sock` and `<name>/<name>.sock` (Docker: /run/docker/plugins). */
  readonly socketDirs: readonly string[];
  /** Then for `<name>.spec` and `<name>.json` (Docker: /etc/docker/plugins, /usr/lib/docker/plugins). */
  readonly specDirs: readonly string[];
}

function isSocket(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isSocket() ?? false;
}

/** `unix:///path` or `tcp://host:port`, the forms of a `.spec` file and of `.json`'s `Addr`. */
export function parseAddress(text: string, plugin: string, file: string): PluginAddress {
  const address = text.trim();
  const unix = /^unix:\/\/(\/.+)$/.exec(address);
  if (unix?.[1]) return { kind: 'unix', path: unix[1] };
  const tcp = /^(?:tcp|http):\/\/([^:/]+):([0-9]{1,5})\/?$/.exec(address);
  if (tcp?.[1] && tcp[2] && Number(tcp[2]) <= 65535) {
    return { kind: 'tcp', host: tcp[1], port: Number(tcp[2]) };
  }
  throw new VolumePluginError(
    plugin,
    `'${file}' gives the address ${JSON.stringify(address)}; expected unix:///path/to.sock or tcp://host:port`,
  );
}

function fromJson(file: string, plugin: string): PluginAddress {
  let spec: { Addr?: unknown; TLSConfig?: unknown };
  try {
    spec = JSON.parse(readFileSync(file, 'utf8')) as typeof spec;
  } catch (error) {
    throw new VolumePluginError(
      plugin,
      `'${file}' is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (spec.TLSConfig !== undefined && spec.TLSConfig !== null) {
    throw new VolumePluginError(
      plugin,
      `'${file}' asks for TLS, which Corral does not speak to plugins yet; use a unix socket`,
    );
  }
  if (typeof spec.Addr !== 'string') {
    throw new VolumePluginError(plugin, `'${file}' has no "Addr" string`);
  }
  return parseAddress(spec.Addr, plugin, file);
}

/**
 * Finds plugin `name` as Docker does: a socket in a socket dir, then a `.spec` or `.json` file in a
 * spec dir; the first hit wins. `name` is a plain name (checked by the caller), so it cannot
 * point outside these directories.
 */
export function discoverPlugin(name: string, dirs: DiscoveryDirs): PluginAddress {
  for (const dir of dirs.socketDirs) {
    for (const path of [join(dir, `${name}.sock`), join(dir, name, `${name}.sock`)]) {
      if (isSocket(path)) return { kind: 'unix', path };
    }
  }
  for (const dir of dirs.specDirs) {
    const spec = join(dir, `${name}.spec`);
    if (existsSync(spec)) return parseAddress(readFileSync(spec, 'utf8'), name, spec);
    const json = join(dir, `${name}.json`);
    if (existsSync(json)) return fromJson(json, name);
  }
  const searched = [
    ...dirs.socketDirs.map((dir) => `${dir}/${name}.sock`),
    ...dirs.specDirs.map((dir) => `${dir}/${name}.{spec,json}`),
  ];
  throw new VolumePluginError(
    name,
    `no volume plugin '${name}' found (looked for ${searched.join(', ')}); start the plugin, or point --docker_volume_plugin_dirs / --docker_volume_spec_dirs at it`,
  );
}
