import type { ResourceStatistics } from '@corral/core';

/**
 * Sums the counters of `/proc/<pid>/net/dev` (the interfaces of that process's network
 * namespace) over every interface but `lo`: per line, rx bytes, packets, errs, drop in fields
 * 0–3 and tx bytes, packets, errs, drop in fields 8–11.
 */
export function interfaceTotals(netDev: string): ResourceStatistics {
  const sum = new Array<number>(12).fill(0);
  for (const line of netDev.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    for (let index = 0; index < sum.length; index++)
      sum[index] = (sum[index] ?? 0) + (fields[index] ?? 0);
  }
  const [rxBytes, rxPackets, rxErrors, rxDropped, , , , , txBytes, txPackets, txErrors, txDropped] =
    sum;
  return {
    net_rx_bytes: rxBytes ?? 0,
    net_rx_packets: rxPackets ?? 0,
    net_rx_errors: rxErrors ?? 0,
    net_rx_dropped: rxDropped ?? 0,
    net_tx_bytes: txBytes ?? 0,
    net_tx_packets: txPackets ?? 0,
    net_tx_errors: txErrors ?? 0,
    net_tx_dropped: txDropped ?? 0,
  };
}
