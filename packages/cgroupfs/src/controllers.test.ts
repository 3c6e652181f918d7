import { describe, expect, it } from 'vitest';
import { createFakeTree } from '../test/fake-tree.ts';
import {
  hostOomKills,
  parseFlatKeyed,
  parseLimit,
  quotaOf,
  sharesOf,
  weightOf,
} from './controllers.ts';
import { CgroupError } from './errors.ts';

describe('controller units (Mesos and runc conversions)', () => {
  it('computes shares with a floor of 2 and a ceiling of 262144', () => {
    expect(sharesOf(1)).toBe(1024);
    expect(sharesOf(0.1)).toBe(102);
    expect(sharesOf(0)).toBe(2);
    expect(sharesOf(1000)).toBe(262_144);
  });

  it('computes CFS quotas per 100 ms with a 1 ms floor', () => {
    expect(quotaOf(0.2)).toBe(20_000);
    expect(quotaOf(2)).toBe(200_000);
    expect(quotaOf(0.001)).toBe(1_000);
  });

  it('maps shares onto cpu.weight 1..10000', () => {
    expect(weightOf(2)).toBe(1);
    expect(weightOf(1024)).toBe(39);
    expect(weightOf(262_144)).toBe(10_000);
  });
});

describe('control file parsing', () => {
  it('reads flat-keyed files and skips what is not a number', () => {
    expect(parseFlatKeyed('user 12\nsystem 3\n\nsome avg10=0.00\n')).toEqual({
      user: 12,
      system: 3,
    });
  });

  it("reads limits, with 'max' and v1's huge value as unlimited", () => {
    expect(parseLimit('67108864\n', 'f')).toBe(67_108_864);
    expect(parseLimit('max\n', 'f')).toBeUndefined();
    expect(parseLimit('9223372036854771712\n', 'f')).toBeUndefined();
    expect(() => parseLimit('lots', 'memory.max')).toThrow(CgroupError);
  });

  it("reads the host's OOM-kill counter, and says when the kernel has none", () => {
    const tree = createFakeTree();
    try {
      expect(hostOomKills(tree.file('vmstat', 'pgfault 10\noom_kill 7\nthp 0\n'))).toBe(7);
      expect(() => hostOomKills(tree.file('old', 'pgfault 10\n'))).toThrow(/no 'oom_kill' counter/);
    } finally {
      tree.remove();
    }
  });
});
