import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cgroupExists,
  destroyCgroup,
  listChildCgroups,
  prepareV1Hierarchy,
  readControl,
} from '@corral/cgroupfs';
import { Containerizer, type LaunchRequest } from '@corral/containerizer';
import {
  type ContainerID,
  type ContainerTermination,
  cgroupsFlags,
  type Isolator,
  type IsolatorContext,
  type Logger,
  parseFlags,
} from '@corral/core';
import { createLauncher, LinuxLauncher } from '@corral/launcher';
import { runFixture } from '@corral/test-support/fixture';
import { recordTerminations } from '@corral/test-support/terminations';
import { cgroupsNetCls, netClsFlags } from '../src/index.ts';

export const CGROUPS_HIERARCHY = '/sys/fs/cgroup';
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/launch-detached.ts', import.meta.url));

export type LogLine = {
  readonly level: keyof Logger;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
};

/** A logger that keeps every line, so tests can assert on warnings. */
export function recordingLogger(lines: LogLine[]): Logger {
  const log =
    (level: keyof Logger) => (message: string, fields?: Readonly<Record<string, unknown>>) => {
      lines.push({ level, message, ...(fields && { fields }) });
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** The isolator exactly as the agent builds it: raw flag strings through the manifest. */
export async function createIsolator(
  root: string,
  flags: Readonly<Record<string, string>>,
  logger: Logger,
  runtimeDir: string,
): Promise<Isolator> {
  const values = parseFlags(
    { ...cgroupsFlags, ...netClsFlags },
    {
      cgroups_hierarchy: CGROUPS_HIERARCHY,
      cgroups_root: root,
      ...flags,
    },
  );
  const context: IsolatorContext = {
    name: cgroupsNetCls.name,
    logger,
    runtimeDir,
    cgroups: { hierarchy: CGROUPS_HIERARCHY, root },
    agent: { workDir: runtimeDir, runtimeDir },
  };
  return cgroupsNetCls.create(values, context);
}

/** A sleeping container: `sleep 300`. */
export function sleeper(directory: string): LaunchRequest {
  return { command_info: { value: 'exec sleep 300' }, directory };
}

/** A container that runs `script` with bash (for its /dev/udp). */
export function bashScript(directory: string, script: string): LaunchRequest {
  return {
    command_info: { shell: false, value: 'bash', arguments: ['bash', '-c', script] },
    directory,
  };
}

/**
 * One test's world: a unique cgroups root, a runtime dir, the net_cls hierarchy, and every
 * containerizer made for it. `dispose()` destroys all containers, reports the cgroups that were
 * left under the root, then removes the root from every hierarchy.
 */
export class World {
  readonly root = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-net-cls-'));
  readonly runtimeDir = join(this.dir, 'runtime');
  readonly log: LogLine[] = [];
  readonly logger = recordingLogger(this.log);
  readonly #containerizers: Containerizer[] = [];
  #netCls: string | undefined;

  async netClsHierarchy(): Promise<string> {
    this.#netCls ??= await prepareV1Hierarchy(CGROUPS_HIERARCHY, 'net_cls');
    return this.#netCls;
  }

  sandbox(name: string): string {
    return join(this.dir, 'sandboxes', name);
  }

  cgroupOf(name: string): string {
    return `${this.root}/${name}`;
  }

  async classidFile(name: string): Promise<number> {
    return Number(
      readControl(await this.netClsHierarchy(), this.cgroupOf(name), 'net_cls.classid'),
    );
  }

  async netClsCgroupExists(name: string): Promise<boolean> {
    return cgroupExists(await this.netClsHierarchy(), this.cgroupOf(name));
  }

  /** An isolator with these flags and a containerizer (linux launcher) around it. */
  async start(flags: Readonly<Record<string, string>>): Promise<{
    isolator: Isolator;
    containerizer: Containerizer;
    /** Resolves with the termination of container `value`, even if it ended already. */
    ended: (value: string) => Promise<ContainerTermination>;
  }> {
    const isolator = await createIsolator(this.root, flags, this.logger, this.runtimeDir);
    const containerizer = new Containerizer({
      runtimeDir: this.runtimeDir,
      launcher: createLauncher({ kind: 'linux', cgroupsRoot: this.root }),
      isolators: [{ name: 'cgroups/net_cls', isolator }],
      logger: this.logger,
    });
    this.#containerizers.push(containerizer);
    const ended = recordTerminations(containerizer);
    return { isolator, containerizer, ended };
  }

  /**
   * Launches `ids` with these flags from another process that then exits, leaving them running,
   * like an agent that stops. Returns their classids as that agent reported them.
   */
  async launchDetached(
    flags: Readonly<Record<string, string>>,
    ids: readonly string[],
  ): Promise<Record<string, number | undefined>> {
    return JSON.parse(
      await runFixture(
        FIXTURE,
        {
          root: this.root,
          runtimeDir: this.runtimeDir,
          dir: this.dir,
          flags,
          ids,
        },
        PACKAGE_DIR,
      ),
    );
  }

  async leftoverNetClsCgroups(): Promise<string[]> {
    const hierarchy = await this.netClsHierarchy();
    return cgroupExists(hierarchy, this.root) ? listChildCgroups(hierarchy, this.root) : [];
  }

  /** Destroys every container of every containerizer made for this world. */
  async destroyContainers(): Promise<void> {
    for (const containerizer of this.#containerizers) {
      await Promise.allSettled(
        containerizer.list().map((id: ContainerID) => containerizer.destroy(id)),
      );
    }
  }

  /** Destroys everything; returns the net_cls cgroups that were left after the containers went. */
  async dispose(): Promise<string[]> {
    await this.destroyContainers();
    const left = await this.leftoverNetClsCgroups();
    const hierarchies = [await this.netClsHierarchy()];
    const tracking = createLauncher({ kind: 'linux', cgroupsRoot: this.root });
    if (tracking instanceof LinuxLauncher) hierarchies.push(await tracking.hierarchy());
    for (const hierarchy of new Set(hierarchies)) {
      await destroyCgroup(hierarchy, this.root, { timeoutMs: 10_000 });
    }
    rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}

/** Counts packets by classid with nftables: one table of our own, removed by `delete()`. */
export class NftCounters {
  readonly table = `corral_test_${process.pid}_${randomBytes(4).toString('hex')}`;

  /** A table with an output-hook chain and a `meta cgroup <classid> counter` rule per classid. */
  constructor(rules: Readonly<Record<string, string>>) {
    const lines = [
      `table inet ${this.table} {`,
      '  chain out {',
      '    type filter hook output priority 0; policy accept;',
      ...Object.entries(rules).map(([name, match]) => `    ${match} counter comment "${name}"`),
      '  }',
      '}',
    ];
    execFileSync('nft', ['-f', '-'], { input: `${lines.join('\n')}\n` });
  }

  /** Packets counted by each rule, by its name. */
  packets(): Record<string, number> {
    const listing = JSON.parse(
      execFileSync('nft', ['-j', 'list', 'table', 'inet', this.table], { encoding: 'utf8' }),
    ) as {
      nftables: { rule?: { comment?: string; expr: { counter?: { packets: number } }[] } }[];
    };
    const counts: Record<string, number> = {};
    for (const { rule } of listing.nftables) {
      if (rule?.comment === undefined) continue;
      counts[rule.comment] = rule.expr.find((expr) => expr.counter)?.counter?.packets ?? 0;
    }
    return counts;
  }

  delete(): void {
    try {
      execFileSync('nft', ['delete', 'table', 'inet', this.table], { stdio: 'ignore' });
    } catch {
      // Never created (the constructor failed): nothing to delete.
    }
  }
}

/** The net_cls line of /proc/<pid>/cgroup, e.g. `net_cls,net_prio:/corral/x`, without the id. */
export function netClsCgroupOf(pid: number): string | undefined {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[1]?.split(',').includes('net_cls'));
  return line?.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
}

/** Sends `count` UDP datagrams carrying `payload` from the test process itself (classid 0). */
export function sendFromHost(
  host: string,
  port: number,
  count: number,
  payload: string | Buffer = 'host',
): Promise<void> {
  const socket = createSocket('udp4');
  const sends = Array.from(
    { length: count },
    () =>
      new Promise<void>((resolve, reject) =>
        socket.send(payload, port, host, (error) => (error ? reject(error) : resolve())),
      ),
  );
  return Promise.all(sends).then(() => {
    socket.close();
  });
}
