import { describe, expect, it } from 'vitest';
import { readResult } from './result.ts';

describe('readResult', () => {
  it('reads a 1.0 result: only addresses inside the sandbox, without prefix', () => {
    expect(
      readResult({
        cniVersion: '1.0.0',
        interfaces: [
          { name: 'cni0' },
          { name: 'veth1' },
          { name: 'eth0', sandbox: '/proc/1/ns/net' },
        ],
        ips: [
          { address: '10.22.0.5/24', gateway: '10.22.0.1', interface: 2 },
          { address: 'fd00::5/64', interface: 2 },
          { address: '10.99.0.1/24', interface: 0 },
        ],
        dns: { nameservers: ['10.22.0.1'], search: ['corral.test'] },
      }),
    ).toEqual({
      ips: [
        { version: 4, address: '10.22.0.5' },
        { version: 6, address: 'fd00::5' },
      ],
      dns: { nameservers: ['10.22.0.1'], search: ['corral.test'], options: [] },
    });
  });

  it('reads a 0.2 result, and results that name no interfaces', () => {
    expect(readResult({ ip4: { ip: '203.0.113.7/24' }, dns: {} }).ips).toEqual([
      { version: 4, address: '203.0.113.7' },
    ]);
    expect(readResult({ ips: [{ address: '198.18.0.9/15', version: '4' }] }).ips).toEqual([
      { version: 4, address: '198.18.0.9' },
    ]);
    expect(readResult({})).toEqual({ ips: [], dns: { nameservers: [], search: [], options: [] } });
  });
});
