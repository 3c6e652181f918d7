import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResourceStatistics } from '@corral/core';
import { runFixture } from '@corral/test-support/fixture';
import { afterEach, beforeEach, expect } from 'vitest';
import { networkInterfaces, teardownEgress } from '../src/egress/egress.ts';
import { type ClassStats, parseClasses } from '../src/egress/tc.ts';
import { egressTable } from '../src/manifest.ts';
import { World } from './helpers.ts';

/**
 * Egress tests change nft and tc state of the network namespace they run in, so they refuse the
 * machine's own: the package's test script runs them through scripts/in-own-network.sh.
 */
export function assertOwnNetworkNamespace(): void {
  // The wrapper's namespace starts with lo only; veths these tests make are named eg*.
  const foreign = networkInterfaces().filter((dev) => dev !== 'lo' && !dev.startsWith('eg'));
  if (foreign.length > 0) {
    throw new Error(
      `egress tests must not run in a network namespace with real interfaces (${foreign.join(', ')}): ` +
        'run them with the package test script (sh ../../scripts/in-own-network.sh vitest run)',
    );
  }
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/**
 * A veth pair from the test's (the agent's) namespace to a receiver namespace of its own, on the
 * /29 number `slot` of 198.18.3.0/24, so test files running at once never share addresses.
 */
export class TestLink {
  readonly suffix = randomBytes(3).toString('hex');
  readonly dev = `eg${this.suffix}`;
  readonly netns = `corral-egress-rx-${this.suffix}`;
  readonly local: string;
  readonly remote: string;

  constructor(slot: number) {
    this.local = `198.18.3.${slot * 8 + 1}`;
    this.remote = `198.18.3.${slot * 8 + 2}`;
    assertOwnNetworkNamespace();
    ip('netns', 'add', this.netns);
    try {
      ip('link', 'add', this.dev, 'type', 'veth', 'peer', 'name', 'rx0', 'netns', this.netns);
      ip('addr', 'add', `${this.local}/29`, 'dev', this.dev);
      ip('link', 'set', this.dev, 'up');
      ip('-n', this.netns, 'addr', 'add', `${this.remote}/29`, 'dev', 'rx0');
      ip('-n', this.netns, 'link', 'set', 'rx0', 'up');
      ip('-n', this.netns, 'link', 'set', 'lo', 'up');
    } catch (error) {
      this.delete();
      throw error;
    }
  }

  /** The HTB classes on the agent's end, by minor. */
  classes(primary: number): Map<number, ClassStats> {
    return parseClasses(
      execFileSync('tc', ['-s', 'class', 'show', 'dev', this.dev], { encoding: 'utf8' }),
      primary,
    );
  }

  rootQdisc(): string {
    return execFileSync('tc', ['qdisc', 'show', 'dev', this.dev, 'root'], { encoding: 'utf8' });
  }

  /** Removes the veth (both ends go at once), then the receiver namespace. */
  delete(): void {
    if (networkInterfaces().includes(this.dev)) ip('link', 'del', this.dev);
    if (existsSync(`/run/netns/${this.netns}`)) ip('netns', 'del', this.netns);
  }
}

/** The keys of a set (`acct`) or map (`shape`) of an egress table, as `nft -j` lists them. */
function nftKeys(table: string, kind: 'set' | 'map', name: string): string[] {
  const json = JSON.parse(
    execFileSync('nft', ['-j', 'list', kind, 'inet', table, name], { encoding: 'utf8' }),
  ) as { nftables: Partial<Record<'set' | 'map', { elem?: unknown[] }>>[] };
  return json.nftables.flatMap((entry) =>
    (entry[kind]?.elem ?? []).map((element) =>
      // Map elements are [key, value]; counted set elements {elem: {val, counter}}.
      String(
        Array.isArray(element) ? element[0] : (element as { elem: { val: unknown } }).elem.val,
      ),
    ),
  );
}

/** Whether the nft table exists, and the keys of its counting set and shaping map. */
export function nftState(table: string): { exists: boolean; counted: string[]; shaped: string[] } {
  try {
    execFileSync('nft', ['list', 'table', 'inet', table], { stdio: 'ignore' });
  } catch {
    return { exists: false, counted: [], shaped: [] };
  }
  return {
    exists: true,
    counted: nftKeys(table, 'set', 'acct'),
    shaped: nftKeys(table, 'map', 'shape'),
  };
}

/** Removes a table a failed test may have left. */
export function deleteTable(table: string): void {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore' });
  } catch {
    // Not there: nothing to remove.
  }
}

/** Polls until `file` exists (a container's "done" marker), for at most `ms`. */
export async function waitForFile(file: string, ms = 20_000): Promise<string> {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return readFileSync(file, 'utf8');
}

/** Script lines that send `count` UDP datagrams of `size` bytes to `host`:9 (bash's /dev/udp). */
export function udpSends(host: string, count: number, size: number): string {
  return (
    `p=$(printf '%0${size}d' 0); for ((i = 0; i < ${count}; i++)); do ` +
    `printf %s "$p" > /dev/udp/${host}/9; done`
  );
}

/** The end of a container script: a `done` marker in its sandbox, then idle (still counted). */
export const DONE_THEN_IDLE = 'echo ok > done; exec sleep 300';

/** A container script that sends the datagrams, marks itself done and idles. */
export function udpSender(host: string, count: number, size: number): string {
  return `${udpSends(host, count, size)}; ${DONE_THEN_IDLE}`;
}

const EGRESS_AGENT = fileURLToPath(new URL('./fixtures/egress-agent.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs an agent in a process of its own that launches `scripts` (id → bash script that writes
 * `done`) with `limits` (id → bit/s), reads their usage and dies by SIGKILL. Resolves with that
 * usage.
 */
export async function crashingAgent(
  world: World,
  flags: Readonly<Record<string, string>>,
  scripts: Readonly<Record<string, string>>,
  limits: Readonly<Record<string, number>> = {},
): Promise<Record<string, ResourceStatistics>> {
  const { root, runtimeDir, dir } = world;
  const argument = { root, runtimeDir, dir, flags, scripts, limits };
  const usage = join(world.dir, 'usage.json');
  try {
    await runFixture(EGRESS_AGENT, argument, PACKAGE_DIR);
  } catch (error) {
    // It dies by SIGKILL right after writing its usage: only a missing file is a failure.
    if (!existsSync(usage)) throw error;
  }
  return JSON.parse(readFileSync(usage, 'utf8'));
}

/**
 * The end of every egress test: destroyed containers leave no element, map entry or class, the
 * teardown leaves no table or HTB root; the world, the table and the link go even when a check
 * fails.
 */
export async function disposeEgress(
  world: World,
  link: TestLink | undefined,
  table: string,
  primary: number,
): Promise<void> {
  let left: string[] = [];
  try {
    await world.destroyContainers();
    expect(nftState(table)).toMatchObject({ counted: [], shaped: [] });
    expect([...(link?.classes(primary).keys() ?? [])]).toEqual([]);
    await teardownEgress(join(world.runtimeDir, 'egress.json'));
    expect(nftState(table).exists).toBe(false);
    expect(link?.rootQdisc()).not.toContain('htb');
  } finally {
    left = await world.dispose();
    deleteTable(table);
    link?.delete();
  }
  expect(left).toEqual([]);
}

/**
 * A fresh world and link for each test of the suite (on /29 `slot`), disposed after it with the
 * checks of `disposeEgress` for the agent with this primary handle.
 */
export function useEgressWorld(slot: number, primary: number): { world: World; link: TestLink } {
  const current = {} as { world: World; link: TestLink };
  beforeEach(() => {
    current.world = new World();
    current.link = new TestLink(slot);
  });
  afterEach(() => disposeEgress(current.world, current.link, egressTable(primary), primary));
  return current;
}
