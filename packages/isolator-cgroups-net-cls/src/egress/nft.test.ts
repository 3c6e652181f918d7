import { describe, expect, it } from 'vitest';
import { egressKeys, forgetScript, parseCounters, shapeScript, tableScript } from './nft.ts';

const V1 = egressKeys({ kind: 'netcls', primary: 0x19 });
const V2 = egressKeys({ kind: 'cgroup2', root: 'unified/corral', level: 1 });

describe('the egress nft table', () => {
  it('keys v1 containers by classid and selects only this primary', () => {
    expect(V1.expression).toBe('meta cgroup');
    expect(V1.ours).toBe('meta cgroup & 0xffff0000 == 0x00190000');
    expect(V1.literal('1638401')).toBe('0x00190001');
  });

  it('keys v2 containers by their cgroup one level below the root', () => {
    expect(V2.expression).toBe('socket cgroupv2 level 2');
    expect(V2.ours).toBe('socket cgroupv2 level 1 "unified/corral"');
    expect(V2.literal('unified/corral/a')).toBe('"unified/corral/a"');
  });

  it('rebuilds chain, interface set and map in one transaction, keeping the counting set', () => {
    const script = tableScript({
      table: 't',
      keys: V1,
      accounting: true,
      interfaces: ['eth0'],
      classes: new Map([['1638401', '19:1']]),
    });
    expect(script.split('\n')).toEqual([
      'add table inet t',
      'add set inet t acct { typeof meta cgroup; size 65536; flags dynamic; counter; }',
      'add map inet t shape { typeof meta cgroup : meta priority; size 65536; }',
      'add set inet t shaped_ifs { type ifname; }',
      'add chain inet t egress { type filter hook output priority filter + 10; policy accept; }',
      'flush chain inet t egress',
      'flush set inet t shaped_ifs',
      'flush map inet t shape',
      'add rule inet t egress oif "lo" return',
      'add rule inet t egress meta cgroup & 0xffff0000 == 0x00190000 update @acct { meta cgroup }',
      'add rule inet t egress oifname @shaped_ifs meta priority set meta cgroup map @shape',
      'add element inet t shaped_ifs { "eth0" }',
      'add element inet t shape { 0x00190001 : 19:1 }',
      '',
    ]);
    expect(
      tableScript({ table: 't', keys: V1, accounting: false, interfaces: [], classes: new Map() }),
    ).not.toMatch(/update|map @shape/);
  });

  it('forgets elements that may not exist by adding them first in the same transaction', () => {
    expect(forgetScript('t', V1, ['1638401'], new Map([['1638401', '19:1']])).split('\n')).toEqual([
      'add element inet t acct { 0x00190001 }',
      'delete element inet t acct { 0x00190001 }',
      'add element inet t shape { 0x00190001 : 19:1 }',
      'delete element inet t shape { 0x00190001 }',
      '',
    ]);
    expect(shapeScript('t', V1, '1638401', '19:1')).toBe(
      'add element inet t shape { 0x00190001 : 19:1 }\n',
    );
  });

  it('reads per-element counters of nft -j list set, by decimal classid or path', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        {
          set: {
            name: 'acct',
            elem: [
              { elem: { val: 1638401, counter: { packets: 10, bytes: 1280 } } },
              { elem: { val: 'unified/corral/a', counter: { packets: 3, bytes: 384 } } },
            ],
          },
        },
      ],
    });
    expect(parseCounters(json)).toEqual(
      new Map([
        ['1638401', { packets: 10, bytes: 1280 }],
        ['unified/corral/a', { packets: 3, bytes: 384 }],
      ]),
    );
    expect(parseCounters('{}')).toEqual(new Map());
  });
});
