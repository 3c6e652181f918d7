import { readFileSync } from 'node:fs';
import type { Attachment } from './plugin/result.ts';

/** The container's own `/etc/hosts`: localhost for both families, then its addresses. */
export function hostsFile(hostname: string, attachments: readonly Attachment[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const { ips } of attachments) {
    for (const { address } of ips) lines.push(`${address}\t${hostname}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The container's `/etc/resolv.conf`: the DNS the plugins returned, networks in order (name
 * servers and search domains joined, the first domain), or the host's when no plugin gave a name
 * server (host-local returns an empty `dns`).
 */
export function resolvConf(
  attachments: readonly Attachment[],
  hostResolvConf = '/etc/resolv.conf',
): string {
  const nameservers = attachments.flatMap(({ dns }) => dns.nameservers);
  if (nameservers.length === 0) return readFileSync(hostResolvConf, 'utf8');
  const domain = attachments.find(({ dns }) => dns.domain)?.dns.domain;
  const search = [...new Set(attachments.flatMap(({ dns }) => dns.search))];
  const options = [...new Set(attachments.flatMap(({ dns }) => dns.options))];
  const lines = [
    ...(domain ? [`domain ${domain}`] : []),
    ...(search.length > 0 ? [`search ${search.join(' ')}`] : []),
    ...(options.length > 0 ? [`options ${options.join(' ')}`] : []),
    ...nameservers.map((server) => `nameserver ${server}`),
  ];
  return `${lines.join('\n')}\n`;
}
