import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type ContainerConfig,
  type ContainerID,
  type ContainerLaunchInfo,
  type ContainerMountInfo,
  type ContainerState,
  type ContainerStatus,
  containerIdToString,
  InvalidContainerConfigError,
  type Isolator,
  type Logger,
  type ResourceStatistics,
} from '@corral/core';
import { type AttachmentRecord, addChain, deleteChain } from './attachment.ts';
import type { NetworkConfig } from './config/load.ts';
import { hostsFile, resolvConf } from './etc-files.ts';
import { cniContainerId, defaultHostname } from './ids.ts';
import { interfaceTotals } from './net-dev.ts';
import type { NetnsHandles } from './netns.ts';
import type { PluginRunner } from './plugin/exec.ts';
import { readResult } from './plugin/result.ts';
import { type NetworkRequest, networkRequests, type PortForward } from './requests.ts';
import type { AttachmentStore } from './store.ts';

export interface NetworkCniOptions {
  readonly networks: ReadonlyMap<string, NetworkConfig>;
  readonly runner: PluginRunner;
  /** DEL inputs, in a persistent directory. */
  readonly store: AttachmentStore;
  readonly handles: NetnsHandles;
  /** The container's own /etc files, `<dir>/<container>/{hosts,hostname,resolv.conf}`. */
  readonly etcDir: string;
  /** The host files the container's replace; ones that do not exist are not mounted over. */
  readonly hostEtc?: string;
  readonly logger: Logger;
}

/** A container that joins CNI networks. */
interface Joined {
  readonly hostname: string;
  /** Present between prepare and isolate. */
  requests?: readonly NetworkRequest[];
  /** What ADD was given and answered, per network, as checkpointed. */
  records: AttachmentRecord[];
  pid?: number;
  readonly ports: readonly string[];
}

const ETC_FILES = ['hosts', 'hostname', 'resolv.conf'] as const;

const portKey = (forward: PortForward) => `${forward.protocol}/${forward.hostPort}`;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * `network/cni`: containers that name networks in `container.network_infos` get their own
 * network, UTS and mount namespaces and are attached to each network by its CNI plugin chain
 * before their command runs; the rest stay on the host's network, untouched.
 */
export class NetworkCniIsolator implements Isolator {
  readonly #options: NetworkCniOptions;
  readonly #joined = new Map<string, Joined>();
  /** Host ports forwarded to a container, so two containers never ask for the same one. */
  readonly #hostPorts = new Map<string, string>();

  constructor(options: NetworkCniOptions) {
    this.#options = options;
  }

  #records(key: string): AttachmentRecord[] {
    return this.#options.store.read(key, (file, problem) =>
      this.#options.logger.warn('ignoring a torn CNI attachment checkpoint', { file, problem }),
    );
  }

  #reservePorts(key: string, ports: readonly string[]): void {
    for (const port of ports) this.#hostPorts.set(port, key);
  }

  async recover(states: readonly ContainerState[], orphans: readonly ContainerID[]): Promise<void> {
    const known = new Set<string>();
    const rebuild = (id: ContainerID, pid?: number) => {
      const key = containerIdToString(id);
      known.add(key);
      const records = this.#records(key);
      if (records.length === 0 && !existsSync(join(this.#options.etcDir, key))) return;
      const ports = records.flatMap((record) =>
        (record.info.port_mappings ?? []).map(
          (m) => `${(m.protocol ?? 'tcp').toLowerCase()}/${m.host_port}`,
        ),
      );
      this.#reservePorts(key, ports);
      this.#joined.set(key, {
        hostname: readEtc(this.#options.etcDir, key, 'hostname') ?? defaultHostname(id),
        records,
        ports,
        ...(pid === undefined ? {} : { pid }),
      });
    };
    for (const state of states) {
      rebuild(state.container_id, state.pid);
      const key = containerIdToString(state.container_id);
      if (!this.#joined.has(key)) continue;
      try {
        this.#options.handles.hold(key, state.pid);
      } catch (error) {
        // Its processes are gone: DEL will run without the namespace.
        this.#options.logger.warn('cannot hold the network namespace of a recovered container', {
          container: key,
          error: messageOf(error),
        });
      }
    }
    for (const id of orphans) rebuild(id);
    // Attachments of containers nothing knows any more (the runtime dir went with a reboot, or an
    // agent crashed before its checkpoints): DEL them now, without a netns if it is gone, so no
    // IPAM lease or host-side rule outlives its container.
    for (const key of this.#options.store.keys()) {
      if (known.has(key)) continue;
      try {
        await this.#detach(key, this.#records(key));
      } catch (error) {
        this.#options.logger.warn(
          'stale CNI attachment could not be removed; retried at next start',
          {
            container: key,
            error: messageOf(error),
          },
        );
      }
    }
  }

  async prepare(
    id: ContainerID,
    config: ContainerConfig,
  ): Promise<ContainerLaunchInfo | undefined> {
    const requests = networkRequests(config, this.#options.networks);
    if (requests.length === 0) return undefined;
    const key = containerIdToString(id);
    const ports = this.#claimPorts(key, requests);
    const hostname = config.container_info?.hostname ?? defaultHostname(id);
    const dir = join(this.#options.etcDir, key);
    try {
      await mkdir(dir, { recursive: true });
      // Filled in isolate, before the command runs (the bind mount shows the same inode); written
      // together, so a disk-backed runtime dir costs one round trip, not three.
      await Promise.all(
        ETC_FILES.map((file) =>
          writeFile(join(dir, file), file === 'hostname' ? `${hostname}\n` : ''),
        ),
      );
    } catch (error) {
      for (const port of ports) this.#hostPorts.delete(port);
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    this.#joined.set(key, { hostname, requests, records: [], ports });
    const mounts: ContainerMountInfo[] = ETC_FILES.map((file) =>
      join(this.#options.hostEtc ?? '/etc', file),
    )
      // Never create files on the host's /etc: one it lacks is not mounted over.
      .filter((target) => existsSync(target))
      .map((target) => ({
        source: join(dir, basename(target)),
        target,
        flags: ['bind', 'nosuid', 'nodev', 'noexec'],
      }));
    return { clone_namespaces: ['net', 'uts', 'mnt'], mounts, hostname };
  }

  /** Reserves the container's host ports; refuses one another container (or itself) holds. */
  #claimPorts(key: string, requests: readonly NetworkRequest[]): string[] {
    const claimed: string[] = [];
    for (const [index, request] of requests.entries()) {
      for (const forward of request.ports) {
        const port = portKey(forward);
        const holder = this.#hostPorts.get(port);
        if (holder !== undefined || claimed.includes(port)) {
          throw new InvalidContainerConfigError(
            `container.network_infos[${index}].port_mappings`,
            `host port ${forward.hostPort}/${forward.protocol} is already forwarded to ${holder === undefined ? 'another mapping of this container' : `container '${holder}'`}`,
          );
        }
        claimed.push(port);
      }
    }
    this.#reservePorts(key, claimed);
    return claimed;
  }

  async isolate(id: ContainerID, pid: number): Promise<void> {
    const key = containerIdToString(id);
    const joined = this.#joined.get(key);
    if (!joined?.requests) return;
    joined.pid = pid;
    const netns = this.#options.handles.hold(key, pid);
    // Every attachment is tried and checkpointed even if one fails: cleanup DELs each of them.
    const results = await Promise.allSettled(
      joined.requests.map((request) => this.#attach(key, id, joined, request, netns)),
    );
    joined.requests = undefined;
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [messageOf(r.reason)] : []));
    if (failures.length > 0) throw new Error(failures.join('; '));
    const attachments = joined.records.map((record) => readResult(record.result ?? {}));
    const dir = join(this.#options.etcDir, key);
    const hostResolvConf = join(this.#options.hostEtc ?? '/etc', 'resolv.conf');
    await Promise.all([
      writeFile(join(dir, 'hosts'), hostsFile(joined.hostname, attachments)),
      writeFile(join(dir, 'resolv.conf'), resolvConf(attachments, hostResolvConf)),
    ]);
  }

  async #attach(
    key: string,
    id: ContainerID,
    joined: Joined,
    request: NetworkRequest,
    netns: string,
  ): Promise<void> {
    const { network, ifname, info, ports, ip } = request;
    const labels = info.labels?.labels ?? [];
    let record: AttachmentRecord = {
      network: network.name,
      cniVersion: network.cniVersion,
      plugins: network.plugins,
      containerId: cniContainerId(id),
      ifname,
      runtimeConfig: {
        ...(ports.length > 0 ? { portMappings: ports } : {}),
        ...(ip === undefined ? {} : { ips: [ip] }),
      },
      args: {
        // For plugins written for Mesos, which read the whole NetworkInfo here.
        'org.apache.mesos': { network_info: info },
        ...(labels.length > 0 ? { cni: { labels } } : {}),
      },
      ...(ip === undefined ? {} : { cniArgs: `IgnoreUnknown=1;IP=${ip}` }),
      info,
    };
    // Checkpointed before ADD: a crash during ADD, even a power loss, still ends in a DEL.
    await this.#options.store.write(key, record, true);
    joined.records.push(record);
    const result = await addChain(record, netns, this.#options.runner);
    record = { ...record, result };
    joined.records[joined.records.findIndex((r) => r.network === network.name)] = record;
    await this.#options.store.write(key, record, false);
  }

  /** DEL of every attachment, then the netns handle, the /etc files and the checkpoints go. */
  async #detach(key: string, records: readonly AttachmentRecord[]): Promise<void> {
    const netns = this.#options.handles.live(key);
    const results = await Promise.allSettled(
      records.map(async (record) => {
        await deleteChain(record, netns, this.#options.runner);
        this.#options.store.remove(key, record.network);
      }),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [messageOf(r.reason)] : []));
    if (failures.length > 0) throw new Error(failures.join('; '));
    this.#options.handles.release(key);
    rmSync(join(this.#options.etcDir, key), { recursive: true, force: true });
    this.#options.store.remove(key);
  }

  async cleanup(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    const joined = this.#joined.get(key);
    if (!joined) return;
    // Read back: an ADD interrupted by a destroy has its record on disk only.
    await this.#detach(key, this.#records(key));
    for (const port of joined.ports) this.#hostPorts.delete(port);
    this.#joined.delete(key);
  }

  status(id: ContainerID): ContainerStatus {
    const joined = this.#joined.get(containerIdToString(id));
    if (!joined) return {};
    return {
      network_infos: joined.records
        .filter((record) => record.result !== undefined)
        .map((record) => ({
          ...record.info,
          name: record.network,
          ip_addresses: readResult(record.result ?? {}).ips.map(({ version, address }) => ({
            protocol: version === 4 ? ('IPv4' as const) : ('IPv6' as const),
            ip_address: address,
          })),
        })),
    };
  }

  /** The container's interfaces (all but `lo`), from its netns's /proc/<pid>/net/dev: one read. */
  usage(id: ContainerID): ResourceStatistics {
    const joined = this.#joined.get(containerIdToString(id));
    if (joined?.pid === undefined) return {};
    try {
      return interfaceTotals(readFileSync(`/proc/${joined.pid}/net/dev`, 'utf8'));
    } catch {
      return {}; // Exited meanwhile.
    }
  }
}

function readEtc(dir: string, key: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, key, file), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
