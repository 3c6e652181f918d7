/** A CNI result of any version, reduced to what Corral uses. */
export interface Attachment {
  /** Container addresses, without prefix length. */
  readonly ips: readonly { readonly version: 4 | 6; readonly address: string }[];
  readonly dns: {
    readonly nameservers: readonly string[];
    readonly domain?: string;
    readonly search: readonly string[];
    readonly options: readonly string[];
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

const withoutPrefix = (cidr: string) => cidr.replace(/\/\d+$/, '');

/**
 * Reads a result of CNI 0.1/0.2 (`ip4`, `ip6`) or 0.3+ (`ips`, `interfaces`): the container's
 * addresses are the `ips` on interfaces inside the sandbox (all of them when the result names no
 * interfaces), which 0.2-only readers such as Mesos miss.
 */
export function readResult(result: Record<string, unknown>): Attachment {
  const ips: { version: 4 | 6; address: string }[] = [];
  if (Array.isArray(result.ips)) {
    const interfaces = Array.isArray(result.interfaces) ? result.interfaces : [];
    for (const ip of result.ips) {
      if (!isRecord(ip) || typeof ip.address !== 'string') continue;
      const index = typeof ip.interface === 'number' ? ip.interface : undefined;
      const owner = index === undefined ? undefined : interfaces[index];
      if (isRecord(owner) && !owner.sandbox) continue;
      ips.push({ version: ip.address.includes(':') ? 6 : 4, address: withoutPrefix(ip.address) });
    }
  } else {
    for (const [key, version] of [
      ['ip4', 4],
      ['ip6', 6],
    ] as const) {
      const block = result[key];
      if (isRecord(block) && typeof block.ip === 'string') {
        ips.push({ version, address: withoutPrefix(block.ip) });
      }
    }
  }
  const dns = isRecord(result.dns) ? result.dns : {};
  return {
    ips,
    dns: {
      nameservers: strings(dns.nameservers),
      ...(typeof dns.domain === 'string' && dns.domain !== '' ? { domain: dns.domain } : {}),
      search: strings(dns.search),
      options: strings(dns.options),
    },
  };
}
