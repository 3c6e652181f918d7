/**
 * Egress rates are bits per second, as in Kubernetes' `kubernetes.io/egress-bandwidth`: a
 * Kubernetes quantity (`20M` is 20,000,000 bit/s, `1Gi` is 2^30 bit/s) in flags, a plain number
 * in the launch's `limits.network_egress`.
 */

/** Below this HTB cannot shape usefully (tc's rate tables work in bytes per second). */
export const MIN_RATE = 8_000;
/** 1 Tbit/s: far above any NIC, so a larger value is a typo. */
export const MAX_RATE = 1e12;

export const RATE_ACCEPTED =
  `bits per second from ${MIN_RATE} to ${MAX_RATE}, as a Kubernetes quantity ` +
  '(8000, 500k, 20M, 1.5G, 1Gi)';

/** What `limits.network_egress` accepts (a Mesos scalar: a plain number). */
export const LIMIT_ACCEPTED = `bits per second as a number from ${MIN_RATE} to ${MAX_RATE}, or "infinity" for no limit`;

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** Why `bits` is not an egress rate, or undefined when it is one. */
export function rateProblem(bits: number): string | undefined {
  if (Number.isNaN(bits)) return 'it is not a number';
  if (bits === 0) return 'a rate of 0 would stop all traffic (omit the limit for none)';
  if (bits < MIN_RATE) return `it is below ${MIN_RATE} bit/s`;
  if (bits > MAX_RATE) return `it is above ${MAX_RATE} bit/s`;
  return undefined;
}

/** Parses a Kubernetes quantity of bits per second; the message says why a value is refused. */
export function parseRate(raw: string): number {
  const match = QUANTITY.exec(raw.trim());
  if (match === null) {
    throw new Error(
      `'${raw}' is not a quantity like 20M (bits per second; 'Mbit' is not a suffix)`,
    );
  }
  const bits = Math.floor(Number(match[1]) * (SUFFIX[match[2] ?? ''] ?? Number.NaN));
  const problem = rateProblem(bits);
  if (problem) throw new Error(`'${raw}' is not an egress rate: ${problem}`);
  return bits;
}

/** `20Mbit`: how tc writes a rate, also used in messages. */
export function tcRate(bits: number): string {
  for (const [suffix, size] of [
    ['Gbit', 1e9],
    ['Mbit', 1e6],
    ['Kbit', 1e3],
  ] as const) {
    if (bits % size === 0) return `${bits / size}${suffix}`;
  }
  return `${bits}bit`;
}

/**
 * HTB burst in bytes: 10 ms at the rate, at least 32 KiB, so late timers do not lose tokens
 * (tc's default of about one MTU under-runs the class).
 */
export function burstBytes(bits: number): number {
  return Math.max(Math.ceil(bits / 8 / 100), 32 * 1024);
}

/** A leaf FIFO of 50 ms at the rate, at least two 64 KiB GSO packets. */
export function queueBytes(bits: number): number {
  return Math.max(Math.ceil(bits / 8 / 20), 128 * 1024);
}
