import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { KeyedQueue, type Logger, silentLogger, writeFileDurably } from '@corral/core';
import { type CommandRunner, EgressCommandError, runCommand } from './command.ts';
import { EgressInterfaceError, EgressUnsupportedError } from './errors.ts';
import {
  type Counters,
  type EgressKeyKind,
  type EgressKeys,
  egressKeys,
  forgetScript,
  parseCounters,
  shapeScript,
  tableScript,
} from './nft.ts';
import {
  classLines,
  classOf,
  type LeafKind,
  parseClasses,
  parseRoot,
  removeClassLine,
  rootLine,
} from './tc.ts';

export interface EgressShaping {
  /** Interfaces that get an HTB root; each limit applies on each of them. */
  readonly interfaces: readonly string[];
  /** The HTB handle, which is also the major of every class. */
  readonly primary: number;
  readonly leaf: LeafKind;
}

export interface EgressOptions {
  /** The nft table (family inet), one per agent. */
  readonly table: string;
  readonly keys: EgressKeyKind;
  readonly accounting: boolean;
  readonly shaping?: EgressShaping | undefined;
  /** Checkpoint of counter offsets and limits, so both survive an agent restart. */
  readonly stateFile: string;
  /** How long a counter read serves `counters()` (default 1 s): one `nft` run per scrape. */
  readonly maxAgeMs?: number;
  readonly run?: CommandRunner;
  readonly logger?: Logger;
}

/** One container: its key (decimal classid or cgroup path), class minor and limit in bit/s. */
export interface EgressEntry {
  readonly key: string;
  readonly minor: number;
  readonly rate?: number | undefined;
}

interface Offset {
  /** What earlier incarnations of the kernel element counted (the table was recreated). */
  base: Counters;
  /** The last kernel reading, to notice that the element started again from zero. */
  last: Counters;
}

interface State {
  readonly version: 1;
  readonly table: string;
  readonly interfaces: readonly string[];
  readonly primary?: number;
  readonly containers: Record<string, { rate?: number; base?: Counters; last?: Counters }>;
}

const ZERO: Counters = { bytes: 0, packets: 0 };
const add = (a: Counters, b: Counters): Counters => ({
  bytes: a.bytes + b.bytes,
  packets: a.packets + b.packets,
});

/** `nft` found no such table (or set): someone removed it. */
function isMissing(error: unknown): boolean {
  return error instanceof EgressCommandError && /No such file/.test(error.stderr);
}

/**
 * Probes, without touching the agent's network namespace, what shaping can use: HTB is required,
 * fq_codel is the preferred leaf queue.
 */
export async function probeShaping(run: CommandRunner = runCommand): Promise<LeafKind> {
  const script =
    'ip link set lo up && tc qdisc add dev lo root handle 1: htb && ' +
    'tc class add dev lo parent 1: classid 1:1 htb rate 1mbit || exit 3; ' +
    'tc qdisc add dev lo parent 1:1 fq_codel 2>/dev/null && echo fq_codel || echo bfifo';
  try {
    return (await run(['unshare', '--net', 'sh', '-c', script])).trim() as LeafKind;
  } catch (error) {
    throw new EgressUnsupportedError(
      'shape egress',
      `the HTB qdisc is not available (${error instanceof Error ? error.message : error})`,
    );
  }
}

/**
 * The interfaces of the caller's network namespace, from /proc/net/dev (which follows the
 * reader's namespace; /sys/class/net follows the one sysfs was mounted in).
 */
export function networkInterfaces(): string[] {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter(Boolean);
}

/** Refuses interfaces that do not exist in this network namespace, naming the ones that do. */
export function checkInterfaces(names: readonly string[]): void {
  const known = networkInterfaces();
  for (const name of names) {
    if (!known.includes(name)) throw new EgressInterfaceError(name, known.sort());
  }
}

/** Where nft 1.0.6 resolves `socket cgroupv2` paths from. */
const NFT_CGROUP2_BASE = '/sys/fs/cgroup';

/**
 * Keys for containers whose cgroups are children of `root` in the cgroup2 hierarchy mounted at
 * `mount`: the path as nft resolves it (`unified/corral` on a hybrid host, `corral` on a v2-only
 * one) and its level in the hierarchy.
 */
export function cgroup2Keys(mount: string, root: string): EgressKeyKind & { kind: 'cgroup2' } {
  const full = join(mount, root);
  if (!full.startsWith(`${NFT_CGROUP2_BASE}/`)) {
    throw new EgressUnsupportedError(
      'count egress by cgroup v2 path',
      `nft resolves cgroup paths under ${NFT_CGROUP2_BASE}, and '${full}' is not below it`,
    );
  }
  const level = root.split('/').filter(Boolean).length;
  return { kind: 'cgroup2', root: relative(NFT_CGROUP2_BASE, full), level };
}

/** The devices of the default routes in /proc/net/route (IPv4), as Mesos guesses its eth0. */
export function defaultRouteInterfaces(): string[] {
  const lines = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1);
  const devices = lines
    .map((line) => line.split(/\s+/))
    .filter((fields) => fields[1] === '00000000' && fields[7] === '00000000')
    .map((fields) => fields[0] as string);
  return [...new Set(devices)];
}

/**
 * Counting and shaping of containers' egress in the kernel (one nft table, an HTB tree per
 * interface), rebuilt from the containers it is given at `start`, so a crash leaves nothing that
 * a restart does not reconcile.
 */
export class Egress {
  readonly #table: string;
  readonly #keys: EgressKeys;
  readonly #accounting: boolean;
  readonly #shaping: EgressShaping | undefined;
  readonly #stateFile: string;
  readonly #maxAgeMs: number;
  readonly #run: CommandRunner;
  readonly #logger: Logger;
  readonly #entries = new Map<string, { minor: number; rate?: number | undefined }>();
  readonly #offsets = new Map<string, Offset>();
  /** Checkpoint writes, one at a time in call order. */
  readonly #writes = new KeyedQueue();
  /** The first reconcile: `start`, or an implicit empty one when the caller never recovered. */
  #ready: Promise<void> | undefined;
  #snapshot: { at: number; values: Map<string, Counters> } | undefined;
  #reading: Promise<Map<string, Counters>> | undefined;
  #readMs = 0;
  #restores = 0;

  constructor(options: EgressOptions) {
    this.#table = options.table;
    this.#keys = egressKeys(options.keys);
    this.#accounting = options.accounting;
    this.#shaping = options.shaping;
    this.#stateFile = options.stateFile;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#run = options.run ?? runCommand;
    this.#logger = options.logger ?? silentLogger;
  }

  get accounting(): boolean {
    return this.#accounting;
  }

  get shaping(): boolean {
    return this.#shaping !== undefined;
  }

  #nft(script: string): Promise<string> {
    return this.#run(['nft', '-f', '-'], script);
  }

  /** Forgets keys; a table someone wiped has nothing left to forget (the next read restores it). */
  async #forget(counted: readonly string[], shaped: ReadonlyMap<string, string>): Promise<void> {
    try {
      await this.#nft(forgetScript(this.#table, this.#keys, counted, shaped));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  #tc(lines: readonly string[], force = false): Promise<string> {
    if (lines.length === 0) return Promise.resolve('');
    return this.#run(['tc', ...(force ? ['-force'] : []), '-batch', '-'], `${lines.join('\n')}\n`);
  }

  /** Removes classes on every interface; one already gone (its root was deleted) is fine. */
  async #removeClasses(primary: number, minor: number): Promise<void> {
    const interfaces = this.#shaping?.interfaces ?? [];
    try {
      // -force: one missing class must not keep the others.
      await this.#tc(
        interfaces.map((dev) => removeClassLine(dev, primary, minor)),
        true,
      );
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  #classes(): Map<string, string> {
    const classes = new Map<string, string>();
    if (!this.#shaping) return classes;
    for (const [key, { minor, rate }] of this.#entries) {
      if (rate !== undefined) classes.set(key, classOf(this.#shaping.primary, minor));
    }
    return classes;
  }

  /** Creates the table or brings it back to what the entries need, keeping the counters. */
  async #install(): Promise<void> {
    await this.#nft(
      tableScript({
        table: this.#table,
        keys: this.#keys,
        accounting: this.#accounting,
        interfaces: this.#shaping?.interfaces ?? [],
        classes: this.#classes(),
      }),
    );
  }

  #loadState(): State | undefined {
    if (!existsSync(this.#stateFile)) return undefined;
    return JSON.parse(readFileSync(this.#stateFile, 'utf8')) as State;
  }

  /** Writes land in call order (one queue), so the newest state is the one on disk. */
  #checkpoint(): Promise<void> {
    const containers: State['containers'] = {};
    for (const [key, { rate }] of this.#entries) {
      const offset = this.#offsets.get(key);
      containers[key] = {
        ...(rate !== undefined && { rate }),
        ...(offset && { base: offset.base, last: offset.last }),
      };
    }
    const state: State = {
      version: 1,
      table: this.#table,
      interfaces: this.#shaping?.interfaces ?? [],
      ...(this.#shaping && { primary: this.#shaping.primary }),
      containers,
    };
    const text = JSON.stringify(state);
    return this.#writes.run('state', () => writeFileDurably(this.#stateFile, text));
  }

  /**
   * Reconciles the kernel with exactly `entries` (the containers that survived a restart, with
   * their launch limits; a limit changed later is taken from the checkpoint): the table and HTB
   * roots exist, their elements and classes exist, everything else of this agent's is removed.
   */
  start(entries: readonly EgressEntry[]): Promise<void> {
    this.#ready = this.#reconcile(entries);
    return this.#ready;
  }

  #started(): Promise<void> {
    this.#ready ??= this.#reconcile([]);
    return this.#ready;
  }

  async #reconcile(entries: readonly EgressEntry[]): Promise<void> {
    const saved = this.#loadState()?.containers ?? {};
    for (const { key, minor, rate } of entries) {
      const old = saved[key];
      this.#entries.set(key, { minor, rate: old ? old.rate : rate });
      if (old?.last) this.#offsets.set(key, { base: old.base ?? ZERO, last: old.last });
    }
    await this.#install();
    if (this.#shaping) await this.#reconcileClasses(this.#shaping);
    const kernel = parseCounters(await this.#listCounters());
    const stale = [...kernel.keys()].filter((key) => !this.#entries.has(key));
    if (stale.length > 0) await this.#forget(stale, new Map());
    await this.#checkpoint();
  }

  async #reconcileClasses({ interfaces, primary, leaf }: EgressShaping): Promise<void> {
    const wanted = new Map<number, number>();
    for (const { minor, rate } of this.#entries.values()) {
      if (rate !== undefined) wanted.set(minor, rate);
    }
    for (const dev of interfaces) {
      const root = parseRoot(await this.#run(['tc', '-j', 'qdisc', 'show', 'dev', dev, 'root']));
      const ours = root?.kind === 'htb' && root.handle === `${primary.toString(16)}:`;
      const lines = ours ? [] : [rootLine(dev, primary)];
      if (ours) {
        const present = parseClasses(await this.#run(['tc', 'class', 'show', 'dev', dev]), primary);
        for (const minor of present.keys()) {
          if (!wanted.has(minor)) lines.push(removeClassLine(dev, primary, minor));
        }
      }
      for (const [minor, rate] of wanted)
        lines.push(...classLines(dev, primary, minor, rate, leaf));
      await this.#tc(lines);
    }
  }

  /**
   * Before the container's command runs: its class and map entry when it has a limit. Counting
   * needs nothing here: the kernel adds the element at the container's first packet.
   */
  async add(entry: EgressEntry): Promise<void> {
    await this.#started();
    this.#entries.set(entry.key, { minor: entry.minor, rate: entry.rate });
    this.#offsets.delete(entry.key);
    if (entry.rate === undefined) return;
    try {
      await this.#shape(entry.key, entry.minor, entry.rate);
      await this.#checkpoint();
    } catch (error) {
      await this.remove(entry.key);
      throw error;
    }
  }

  async #shape(key: string, minor: number, rate: number): Promise<void> {
    const shaping = this.#shaping;
    if (!shaping) throw new EgressUnsupportedError('shape egress', 'shaping is not enabled');
    const { interfaces, primary, leaf } = shaping;
    // At once: until the class exists, HTB sends packets of a missing class to its direct queue.
    await Promise.all([
      this.#tc(interfaces.flatMap((dev) => classLines(dev, primary, minor, rate, leaf))),
      this.#nft(shapeScript(this.#table, this.#keys, key, classOf(primary, minor))),
    ]);
  }

  /** Changes a container's limit: adds, changes or removes its class. Unknown keys: nothing. */
  async setRate(key: string, rate: number | undefined): Promise<void> {
    await this.#started();
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.rate === rate) return;
    if (rate !== undefined) {
      await this.#shape(key, entry.minor, rate);
    } else {
      await this.#unshape(key, entry.minor);
    }
    entry.rate = rate;
    await this.#checkpoint();
  }

  async #unshape(key: string, minor: number): Promise<void> {
    const shaping = this.#shaping;
    if (!shaping) return;
    const cls = classOf(shaping.primary, minor);
    await this.#forget([], new Map([[key, cls]]));
    await this.#removeClasses(shaping.primary, minor);
  }

  /** The limit in bit/s, if any. */
  rate(key: string): number | undefined {
    return this.#entries.get(key)?.rate;
  }

  /** Bytes (L3, IP header included) and packets the container sent, never decreasing. */
  async counters(key: string): Promise<Counters | undefined> {
    if (!this.#accounting || !this.#entries.has(key)) return undefined;
    const fresh = this.#snapshot && Date.now() - this.#snapshot.at < this.#maxAgeMs;
    const values = fresh ? this.#snapshot?.values : await this.#read();
    return values?.get(key) ?? ZERO;
  }

  #read(): Promise<Map<string, Counters>> {
    this.#reading ??= this.#readAll().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #listCounters(): Promise<string> {
    try {
      return await this.#run(['nft', '-j', 'list', 'set', 'inet', this.#table, 'acct']);
    } catch (error) {
      if (!isMissing(error)) throw error;
      // Someone flushed the ruleset (a firewall reload): put the table back, count from zero.
      this.#logger.warn('the egress nft table was gone: restored it', { table: this.#table });
      this.#restores += 1;
      await this.#install();
      return '{}';
    }
  }

  async #readAll(): Promise<Map<string, Counters>> {
    const began = performance.now();
    const kernel = parseCounters(await this.#listCounters());
    const values = new Map<string, Counters>();
    let rebased = false;
    for (const key of this.#entries.keys()) {
      const now = kernel.get(key) ?? ZERO;
      const offset = this.#offsets.get(key) ?? { base: ZERO, last: ZERO };
      if (now.bytes < offset.last.bytes || now.packets < offset.last.packets) {
        // The element started again (the table was recreated): keep what it had counted.
        offset.base = add(offset.base, offset.last);
        rebased = true;
      }
      offset.last = now;
      this.#offsets.set(key, offset);
      values.set(key, add(offset.base, now));
    }
    // Only a reset is written here: a read must not stall the event loop on a 10k-entry fsync.
    // A table wiped while the agent is down continues from the last checkpoint (never lower).
    if (rebased) await this.#checkpoint();
    this.#snapshot = { at: Date.now(), values };
    this.#readMs = performance.now() - began;
    return values;
  }

  /** After the container's processes are gone: its element, map entry and class go. */
  async remove(key: string): Promise<void> {
    await this.#started();
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    const shaping = this.#shaping;
    const shaped = entry.rate !== undefined && shaping !== undefined;
    const map = shaped ? new Map([[key, classOf(shaping.primary, entry.minor)]]) : new Map();
    await this.#forget(this.#accounting ? [key] : [], map);
    if (shaped) await this.#removeClasses(shaping.primary, entry.minor);
    this.#entries.delete(key);
    this.#offsets.delete(key);
    this.#snapshot?.values.delete(key);
    await this.#checkpoint();
  }

  /** `egress_counted`, `egress_shaped`, `egress_counter_read_ms`, `egress_table_restores`. */
  metrics(): Record<string, number> {
    let shaped = 0;
    for (const { rate } of this.#entries.values()) if (rate !== undefined) shaped++;
    return {
      egress_counted: this.#accounting ? this.#entries.size : 0,
      egress_shaped: shaped,
      egress_counter_read_ms: this.#readMs,
      egress_table_restores: this.#restores,
    };
  }
}

/** What the agent now installs, so that `retireEgress` keeps it. */
export interface EgressInstallation {
  readonly table: string;
  readonly interfaces: readonly string[];
  readonly primary?: number | undefined;
}

/**
 * Removes what an earlier run installed, as recorded in its checkpoint, and that `current` no
 * longer covers: its nft table unless it is the same, its HTB roots on interfaces no longer
 * shaped with the same handle. With no `current` (egress turned off) everything goes.
 */
export async function retireEgress(
  stateFile: string,
  current?: EgressInstallation,
  run: CommandRunner = runCommand,
): Promise<void> {
  if (!existsSync(stateFile)) return;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as State;
  if (state.table !== current?.table) {
    try {
      await run(['nft', 'delete', 'table', 'inet', state.table]);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  const kept = current?.primary === state.primary ? (current?.interfaces ?? []) : [];
  for (const dev of state.interfaces) {
    if (state.primary === undefined || kept.includes(dev)) continue;
    if (!networkInterfaces().includes(dev)) continue;
    const root = parseRoot(await run(['tc', '-j', 'qdisc', 'show', 'dev', dev, 'root']));
    if (root?.kind === 'htb' && root.handle === `${state.primary.toString(16)}:`) {
      await run(['tc', 'qdisc', 'del', 'dev', dev, 'root']);
    }
  }
  if (current === undefined) rmSync(stateFile, { force: true });
}

/**
 * Removes everything an agent installed, as recorded in its checkpoint: the nft table and its
 * HTB roots. For an agent stopped for good, after its containers are destroyed.
 */
export function teardownEgress(stateFile: string, run: CommandRunner = runCommand): Promise<void> {
  return retireEgress(stateFile, undefined, run);
}
