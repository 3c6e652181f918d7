/**
 * The tc side: on each shaped interface an HTB root whose handle is the primary handle, and one
 * class `primary:minor` per limited container with rate == ceil (no borrowing) and a bounded
 * leaf queue. Packets reach a class through `skb->priority`, which the nft map sets; everything
 * else goes to HTB's direct queue, unshaped.
 */
import { burstBytes, queueBytes, tcRate } from './rate.ts';

/** Leaf queue of a class: fq_codel where the kernel has it, else a 50 ms byte FIFO. */
export type LeafKind = 'fq_codel' | 'bfifo';

const hex = (value: number) => value.toString(16);

/** `7a01:5`: a class as tc and nft's `meta priority` write it. */
export function classOf(primary: number, minor: number): string {
  return `${hex(primary)}:${hex(minor)}`;
}

export function rootLine(dev: string, primary: number): string {
  return `qdisc replace dev ${dev} root handle ${hex(primary)}: htb default 0 r2q 10`;
}

/** Adds or changes the class, then (re)places its leaf queue. */
export function classLines(
  dev: string,
  primary: number,
  minor: number,
  bits: number,
  leaf: LeafKind,
): string[] {
  const cls = classOf(primary, minor);
  const burst = burstBytes(bits);
  return [
    // quantum explicit: rate/r2q above 200000 makes the kernel log "quantum of class is big".
    `class replace dev ${dev} parent ${hex(primary)}: classid ${cls} htb rate ${tcRate(bits)} ` +
      `ceil ${tcRate(bits)} burst ${burst}b cburst ${burst}b quantum 1514`,
    `qdisc replace dev ${dev} parent ${cls} ${leaf === 'fq_codel' ? 'fq_codel' : `bfifo limit ${queueBytes(bits)}`}`,
  ];
}

/** Removes the class; its leaf queue goes with it. */
export function removeClassLine(dev: string, primary: number, minor: number): string {
  return `class del dev ${dev} classid ${classOf(primary, minor)}`;
}

/** The root qdisc of `tc -j qdisc show dev X root`: kind and handle (`7a01:`). */
export function parseRoot(json: string): { kind: string; handle: string } | undefined {
  const [root] = JSON.parse(json) as { kind?: string; handle?: string; root?: boolean }[];
  return root?.kind && root.handle ? { kind: root.kind, handle: root.handle } : undefined;
}

export interface ClassStats {
  readonly bytes: number;
  readonly packets: number;
  readonly dropped: number;
}

/**
 * The HTB classes under `primary` in `tc -s class show dev X`, by minor. Parsed as text: iproute2
 * 6.1 prints HTB class statistics as text even with `-j`.
 */
export function parseClasses(text: string, primary: number): Map<number, ClassStats> {
  const classes = new Map<number, ClassStats>();
  const prefix = `${hex(primary)}:`;
  let minor: number | undefined;
  for (const line of text.split('\n')) {
    const head = /^class htb ([0-9a-f]+:[0-9a-f]+) /.exec(line);
    if (head) {
      const id = head[1] as string;
      minor = id.startsWith(prefix) ? Number.parseInt(id.slice(prefix.length), 16) : undefined;
      if (minor !== undefined) classes.set(minor, { bytes: 0, packets: 0, dropped: 0 });
      continue;
    }
    const sent = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(line);
    if (sent && minor !== undefined) {
      classes.set(minor, {
        bytes: Number(sent[1]),
        packets: Number(sent[2]),
        dropped: Number(sent[3]),
      });
      minor = undefined;
    }
  }
  return classes;
}
