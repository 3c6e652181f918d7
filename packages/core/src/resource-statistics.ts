/**
 * Usage as reported by `Isolator.usage`, with the Mesos field names. The engine merges every
 * isolator's part and sets `timestamp` (seconds since the epoch).
 */
export interface ResourceStatistics {
  readonly timestamp?: number;
  readonly processes?: number;
  readonly threads?: number;
  readonly cpus_user_time_secs?: number;
  readonly cpus_system_time_secs?: number;
  readonly cpus_limit?: number;
  readonly cpus_soft_limit?: number;
  readonly cpus_nr_periods?: number;
  readonly cpus_nr_throttled?: number;
  readonly cpus_throttled_time_secs?: number;
  readonly mem_total_bytes?: number;
  readonly mem_rss_bytes?: number;
  readonly mem_cache_bytes?: number;
  readonly mem_anon_bytes?: number;
  readonly mem_file_bytes?: number;
  readonly mem_mapped_file_bytes?: number;
  readonly mem_unevictable_bytes?: number;
  readonly mem_swap_bytes?: number;
  readonly mem_limit_bytes?: number;
  readonly mem_soft_limit_bytes?: number;
  readonly disk_limit_bytes?: number;
  readonly disk_used_bytes?: number;
  readonly net_rx_packets?: number;
  readonly net_rx_bytes?: number;
  readonly net_rx_errors?: number;
  readonly net_rx_dropped?: number;
  readonly net_tx_packets?: number;
  readonly net_tx_bytes?: number;
  readonly net_tx_errors?: number;
  readonly net_tx_dropped?: number;
  /** The egress rate limit in bytes per second, as Mesos' port_mapping reports it. */
  readonly net_tx_rate_limit?: number;
}
