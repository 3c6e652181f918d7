import { isIP } from 'node:net';
import { type ContainerConfig, InvalidContainerConfigError, type NetworkInfo } from '@corral/core';
import type { NetworkConfig } from './config/load.ts';

/** A host port forwarded to a container port, in CNI's `portMappings` shape. */
export interface PortForward {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
}

/** One network a container joins. */
export interface NetworkRequest {
  readonly network: NetworkConfig;
  /** `eth0`, `eth1`, … in the order of `network_infos`. */
  readonly ifname: string;
  /** As asked, for the plugin (`args`) and the status. */
  readonly info: NetworkInfo;
  readonly ports: readonly PortForward[];
  /** A requested address, without prefix. */
  readonly ip?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const declares = (network: NetworkConfig, capability: string) =>
  network.plugins.some(
    (plugin) => isRecord(plugin.capabilities) && plugin.capabilities[capability] === true,
  );

function port(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidContainerConfigError(
      field,
      `${JSON.stringify(value)} is not a port from 1 to 65535`,
    );
  }
  return value;
}

function portForwards(
  info: Record<string, unknown>,
  field: string,
  network: NetworkConfig,
): PortForward[] {
  const mappings = info.port_mappings;
  if (mappings === undefined || mappings === null) return [];
  if (!Array.isArray(mappings))
    throw new InvalidContainerConfigError(`${field}.port_mappings`, 'must be a list');
  if (mappings.length > 0 && !declares(network, 'portMappings')) {
    throw new InvalidContainerConfigError(
      `${field}.port_mappings`,
      `network '${network.name}' has no plugin with the portMappings capability; chain the 'portmap' plugin with "capabilities": {"portMappings": true} in '${network.file}'`,
    );
  }
  return mappings.map((mapping, index) => {
    const where = `${field}.port_mappings[${index}]`;
    if (!isRecord(mapping)) throw new InvalidContainerConfigError(where, 'must be an object');
    const protocol = (
      typeof mapping.protocol === 'string' ? mapping.protocol : 'tcp'
    ).toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      throw new InvalidContainerConfigError(
        `${where}.protocol`,
        `${JSON.stringify(mapping.protocol)} is not tcp or udp`,
      );
    }
    return {
      hostPort: port(mapping.host_port, `${where}.host_port`),
      containerPort: port(mapping.container_port, `${where}.container_port`),
      protocol,
    };
  });
}

function requestedIp(
  info: Record<string, unknown>,
  field: string,
  network: NetworkConfig,
): string | undefined {
  const addresses = info.ip_addresses;
  if (
    addresses === undefined ||
    addresses === null ||
    (Array.isArray(addresses) && addresses.length === 0)
  ) {
    return undefined;
  }
  const first = Array.isArray(addresses) && addresses.length === 1 ? addresses[0] : undefined;
  const ip = isRecord(first) ? first.ip_address : undefined;
  if (typeof ip !== 'string' || isIP(ip) === 0) {
    throw new InvalidContainerConfigError(
      `${field}.ip_addresses`,
      'must be one address to request, e.g. [{"ip_address": "10.22.0.10"}] (Corral asks one address per network)',
    );
  }
  if (!declares(network, 'ips')) {
    throw new InvalidContainerConfigError(
      `${field}.ip_addresses`,
      `network '${network.name}' has no plugin with the ips capability; add "capabilities": {"ips": true} to the plugin whose IPAM takes requested addresses in '${network.file}'`,
    );
  }
  return ip;
}

/**
 * The networks a container joins, from `container.network_infos`: each entry must name a known
 * network once; none (or no `network_infos`) means the host's network, as before.
 */
export function networkRequests(
  config: ContainerConfig,
  networks: ReadonlyMap<string, NetworkConfig>,
): NetworkRequest[] {
  const infos: unknown = config.container_info?.network_infos;
  if (infos === undefined || infos === null) return [];
  if (!Array.isArray(infos))
    throw new InvalidContainerConfigError('container.network_infos', 'must be a list');
  const seen = new Set<string>();
  return infos.map((info, index) => {
    const field = `container.network_infos[${index}]`;
    if (!isRecord(info) || typeof info.name !== 'string') {
      throw new InvalidContainerConfigError(
        `${field}.name`,
        'names the CNI network to join; leave network_infos out for the host network',
      );
    }
    const network = networks.get(info.name);
    if (!network) {
      const known = [...networks.keys()].sort();
      throw new InvalidContainerConfigError(
        `${field}.name`,
        `unknown CNI network '${info.name}' (${known.length > 0 ? `known: ${known.join(', ')}` : 'no network is configured in --network_cni_config_dir'})`,
      );
    }
    if (seen.has(info.name)) {
      throw new InvalidContainerConfigError(
        `${field}.name`,
        `joins network '${info.name}' a second time`,
      );
    }
    seen.add(info.name);
    // Mesos' network security groups: nothing in CNI carries them, so refuse rather than drop.
    if (Array.isArray(info.groups) && info.groups.length > 0) {
      throw new InvalidContainerConfigError(
        `${field}.groups`,
        'network groups are not supported: no CNI plugin receives them; leave groups out',
      );
    }
    const ip = requestedIp(info, field, network);
    return {
      network,
      ifname: `eth${index}`,
      info: info as NetworkInfo,
      ports: portForwards(info, field, network),
      ...(ip === undefined ? {} : { ip }),
    };
  });
}
