import { describe, expect, it } from 'vitest';
import { interfaceTotals } from './net-dev.ts';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     500       5    0    0    0     0          0         0      500       5    0    0    0     0       0          0
  eth0:    1000      10    1    2    0     0          0         0     2000      20    3    4    0     0       0          0
  eth1:     100       1    0    0    0     0          0         0      200       2    0    0    0     0       0          0
`;

describe('interfaceTotals', () => {
  it('sums every interface but lo, rx and tx apart', () => {
    expect(interfaceTotals(NET_DEV)).toEqual({
      net_rx_bytes: 1100,
      net_rx_packets: 11,
      net_rx_errors: 1,
      net_rx_dropped: 2,
      net_tx_bytes: 2200,
      net_tx_packets: 22,
      net_tx_errors: 3,
      net_tx_dropped: 4,
    });
  });
});
