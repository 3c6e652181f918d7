import type { ContainerConfig } from '@corral/core';
import { describe, expect, it } from 'vitest';
import type { NetworkConfig } from './config/load.ts';
import { networkRequests } from './requests.ts';

const network = (name: string, capabilities: Record<string, boolean> = {}): NetworkConfig => ({
  name,
  file: `/etc/cni/${name}.conflist`,
  cniVersion: '1.0.0',
  plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities }],
  binaries: ['/usr/lib/cni/bridge', '/usr/lib/cni/portmap'],
});
const networks = new Map([
  ['blue', network('blue', { portMappings: true, ips: true })],
  ['plain', network('plain')],
]);
const config = (networkInfos: unknown): ContainerConfig =>
  ({
    command_info: { value: 'true' },
    container_info: { network_infos: networkInfos },
    directory: '/sandbox',
    runtime_directory: '/run/c',
  }) as ContainerConfig;

describe('networkRequests', () => {
  it('reads each network in order with its interface, port forwards and requested address', () => {
    const [blue, plain] = networkRequests(
      config([
        {
          name: 'blue',
          port_mappings: [{ host_port: 8080, container_port: 80, protocol: 'UDP' }],
          ip_addresses: [{ ip_address: '10.22.0.9' }],
        },
        { name: 'plain' },
      ]),
      networks,
    );
    expect(blue?.ifname).toBe('eth0');
    expect(blue?.ports).toEqual([{ hostPort: 8080, containerPort: 80, protocol: 'udp' }]);
    expect(blue?.ip).toBe('10.22.0.9');
    expect(plain?.ifname).toBe('eth1');
    expect(networkRequests(config(undefined), networks)).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    ['an unnamed entry', [{}], /network_infos\[0\]\.name' is invalid: names the CNI network/],
    ['an unknown network', [{ name: 'red' }], /unknown CNI network 'red' \(known: blue, plain\)/],
    ['a network twice', [{ name: 'blue' }, { name: 'blue' }], /joins network 'blue' a second time/],
    [
      'groups',
      [{ name: 'blue', groups: ['web'] }],
      /groups' is invalid: network groups are not supported/,
    ],
    [
      'port mappings without portmap',
      [{ name: 'plain', port_mappings: [{ host_port: 1, container_port: 1 }] }],
      /no plugin with the portMappings capability/,
    ],
    [
      'a bad port',
      [{ name: 'blue', port_mappings: [{ host_port: 0, container_port: 1 }] }],
      /host_port' is invalid: 0 is not a port from 1 to 65535/,
    ],
    [
      'a bad protocol',
      [{ name: 'blue', port_mappings: [{ host_port: 1, container_port: 1, protocol: 'sctp' }] }],
      /"sctp" is not tcp or udp/,
    ],
    [
      'an address without the ips capability',
      [{ name: 'plain', ip_addresses: [{ ip_address: '10.0.0.1' }] }],
      /no plugin with the ips capability/,
    ],
    [
      'two addresses',
      [{ name: 'blue', ip_addresses: [{ ip_address: '10.0.0.1' }, { ip_address: '10.0.0.2' }] }],
      /must be one address to request/,
    ],
  ])('refuses %s, naming the field', (_case, infos, message) => {
    expect(() => networkRequests(config(infos), networks)).toThrow(message);
  });
});
