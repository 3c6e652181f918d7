import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostsFile, resolvConf } from './etc-files.ts';

const dns = (nameservers: string[], extra = {}) => ({
  nameservers,
  search: [],
  options: [],
  ...extra,
});

describe('the container /etc files', () => {
  it('lists localhost for both families, then every address of the container', () => {
    expect(
      hostsFile('web', [
        { ips: [{ version: 4, address: '10.0.0.2' }], dns: dns([]) },
        { ips: [{ version: 6, address: 'fd00::2' }], dns: dns([]) },
      ]),
    ).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.2\tweb\nfd00::2\tweb\n',
    );
  });

  it("writes the plugins' DNS in network order, or copies the host's without a name server", () => {
    expect(
      resolvConf([
        {
          ips: [],
          dns: dns(['10.0.0.1'], { domain: 'a.test', search: ['a.test'], options: ['ndots:2'] }),
        },
        { ips: [], dns: dns(['10.1.0.1'], { domain: 'b.test', search: ['b.test', 'a.test'] }) },
      ]),
    ).toBe(
      'domain a.test\nsearch a.test b.test\noptions ndots:2\nnameserver 10.0.0.1\nnameserver 10.1.0.1\n',
    );
    const dir = mkdtempSync(join(tmpdir(), 'corral-resolv-'));
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.0.2.53\n');
    expect(resolvConf([{ ips: [], dns: dns([]) }], join(dir, 'resolv.conf'))).toBe(
      'nameserver 192.0.2.53\n',
    );
    rmSync(dir, { recursive: true });
  });
});
