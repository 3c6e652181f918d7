/**
 * The nftables side: one table per agent with an output chain that counts every packet of the
 * agent's containers in a dynamic set with per-element counters (one hash lookup per packet; the
 * kernel adds a container's element at its first packet, so a launch costs nothing here) and,
 * on the shaped interfaces, sets `meta priority` from a map so HTB puts the packet in the
 * container's class without a tc filter (this kernel has no cls_cgroup).
 */

/** How packets are attributed to containers: by net_cls classid (v1) or cgroup v2 path. */
export type EgressKeyKind =
  | { readonly kind: 'netcls'; readonly primary: number }
  | {
      readonly kind: 'cgroup2';
      /** The containers' parent cgroup as nft resolves it, relative to /sys/fs/cgroup. */
      readonly root: string;
      /** Its level in the cgroup2 hierarchy (1 for a child of the root cgroup). */
      readonly level: number;
    };

/** What the table matches on, and how one container's key is written and listed. */
export interface EgressKeys {
  /** The nft expression whose value is a container's key. */
  readonly expression: string;
  /** The rule prefix that selects this agent's containers (and nothing of the host's). */
  readonly ours: string;
  /** A key as an nft literal: `0x00190001`, `"unified/corral/x"`. */
  literal(key: string): string;
}

const hex8 = (value: number): string => `0x${value.toString(16).padStart(8, '0')}`;

export function egressKeys(kind: EgressKeyKind): EgressKeys {
  if (kind.kind === 'netcls') {
    return {
      expression: 'meta cgroup',
      ours: `meta cgroup & 0xffff0000 == ${hex8(kind.primary * 0x1_0000)}`,
      // Keys are classids in decimal, as `nft -j` lists them.
      literal: (key) => hex8(Number(key)),
    };
  }
  // A container's cgroup is one level below the root; nft takes the level explicitly.
  const quote = (path: string) => JSON.stringify(path);
  return {
    expression: `socket cgroupv2 level ${kind.level + 1}`,
    ours: `socket cgroupv2 level ${kind.level} ${quote(kind.root)}`,
    literal: quote,
  };
}

export interface TableSpec {
  readonly table: string;
  readonly keys: EgressKeys;
  readonly accounting: boolean;
  /** Interfaces whose packets get their class from the map; empty when not shaping. */
  readonly interfaces: readonly string[];
  /** key → tc class (`7a01:5`) of every shaped container. */
  readonly classes: ReadonlyMap<string, string>;
}

const SIZE = 65_536;

/**
 * One `nft -f` transaction that creates the table or brings it back to `spec`: the chain, the
 * interface set and the map are rewritten, the counting set is kept with its counters.
 */
export function tableScript(spec: TableSpec): string {
  const t = `inet ${spec.table}`;
  const key = spec.keys.expression;
  const lines = [
    `add table ${t}`,
    `add set ${t} acct { typeof ${key}; size ${SIZE}; flags dynamic; counter; }`,
    `add map ${t} shape { typeof ${key} : meta priority; size ${SIZE}; }`,
    `add set ${t} shaped_ifs { type ifname; }`,
    `add chain ${t} egress { type filter hook output priority filter + 10; policy accept; }`,
    `flush chain ${t} egress`,
    `flush set ${t} shaped_ifs`,
    `flush map ${t} shape`,
    // Loopback, including the host's own addresses, is never counted nor shaped.
    `add rule ${t} egress oif "lo" return`,
  ];
  if (spec.accounting) lines.push(`add rule ${t} egress ${spec.keys.ours} update @acct { ${key} }`);
  if (spec.interfaces.length > 0) {
    // Only on shaped interfaces: skb->priority also drives VLAN QoS maps and pfifo_fast bands.
    lines.push(`add rule ${t} egress oifname @shaped_ifs meta priority set ${key} map @shape`);
    lines.push(
      `add element ${t} shaped_ifs { ${spec.interfaces.map((i) => `"${i}"`).join(', ')} }`,
    );
  }
  if (spec.classes.size > 0) lines.push(`add element ${t} shape { ${mapElements(spec)} }`);
  return `${lines.join('\n')}\n`;
}

function mapElements(spec: Pick<TableSpec, 'keys' | 'classes'>): string {
  return [...spec.classes].map(([key, cls]) => `${spec.keys.literal(key)} : ${cls}`).join(', ');
}

/** Points `key` at tc class `cls`; a key's class never changes, so adding it again is a no-op. */
export function shapeScript(table: string, keys: EgressKeys, key: string, cls: string): string {
  return `add element inet ${table} shape { ${keys.literal(key)} : ${cls} }\n`;
}

/**
 * Forgets keys: counting elements and map entries (key → its class). Each is added first in the
 * same transaction, so deleting one the kernel never created (a container that sent nothing) is
 * fine.
 */
export function forgetScript(
  table: string,
  keys: EgressKeys,
  counted: readonly string[],
  shaped: ReadonlyMap<string, string>,
): string {
  const lines: string[] = [];
  if (counted.length > 0) {
    const elements = counted.map(keys.literal).join(', ');
    lines.push(`add element inet ${table} acct { ${elements} }`);
    lines.push(`delete element inet ${table} acct { ${elements} }`);
  }
  if (shaped.size > 0) {
    lines.push(`add element inet ${table} shape { ${mapElements({ keys, classes: shaped })} }`);
    const elements = [...shaped.keys()].map(keys.literal).join(', ');
    lines.push(`delete element inet ${table} shape { ${elements} }`);
  }
  return `${lines.join('\n')}\n`;
}

export interface Counters {
  readonly bytes: number;
  readonly packets: number;
}

interface Listing {
  readonly nftables?: readonly {
    readonly set?: {
      readonly elem?: readonly unknown[];
    };
  }[];
}

/** The counters of `nft -j list set … acct`, by key (decimal classid or cgroup path). */
export function parseCounters(json: string): Map<string, Counters> {
  const counters = new Map<string, Counters>();
  for (const entry of (JSON.parse(json) as Listing).nftables ?? []) {
    for (const element of entry.set?.elem ?? []) {
      if (typeof element !== 'object' || element === null || !('elem' in element)) continue;
      const { val, counter } = element.elem as { val?: unknown; counter?: Counters };
      if (counter === undefined || (typeof val !== 'number' && typeof val !== 'string')) continue;
      counters.set(String(val), { bytes: counter.bytes, packets: counter.packets });
    }
  }
  return counters;
}
