import type { NetworkInfo } from '@corral/core';
import { chains, deleteTakesPrevResult, type PluginConfig } from './config/load.ts';
import { CniPluginError } from './errors.ts';
import { findPlugin, type PluginRunner, runPlugin } from './plugin/exec.ts';

/**
 * Everything ADD was given and what it answered, checkpointed before ADD and after it: DEL must
 * send the same network config (even after the file changed or the agent rebooted) and the final
 * result as `prevResult`.
 */
export interface AttachmentRecord {
  readonly network: string;
  readonly cniVersion: string;
  readonly plugins: readonly PluginConfig[];
  readonly containerId: string;
  readonly ifname: string;
  /** Every capability value Corral offers; each plugin gets those it declares. */
  readonly runtimeConfig: Readonly<Record<string, unknown>>;
  /** Merged into each plugin's `args`. */
  readonly args: Readonly<Record<string, unknown>>;
  readonly cniArgs?: string;
  /** As asked, for the status. */
  readonly info: NetworkInfo;
  /** The final ADD result, once ADD succeeded. */
  readonly result?: Readonly<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What plugin `index` of the chain reads on stdin (the CNI spec's "per-invocation config"). */
function invocation(
  record: AttachmentRecord,
  index: number,
  prevResult: unknown,
): Record<string, unknown> {
  const { capabilities, args, ...plugin } = record.plugins[index] as PluginConfig & {
    capabilities?: unknown;
    args?: unknown;
  };
  const runtimeConfig = Object.fromEntries(
    Object.entries(record.runtimeConfig).filter(
      ([key]) => isRecord(capabilities) && capabilities[key] === true,
    ),
  );
  return {
    ...plugin,
    cniVersion: record.cniVersion,
    name: record.network,
    args: { ...(isRecord(args) ? args : {}), ...record.args },
    ...(Object.keys(runtimeConfig).length > 0 ? { runtimeConfig } : {}),
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

function binaryOf(record: AttachmentRecord, index: number, runner: PluginRunner): string {
  const type = (record.plugins[index] as PluginConfig).type;
  const binary = findPlugin(type, runner.searchPath);
  if (!binary) {
    throw new CniPluginError(
      `network '${record.network}': plugin '${type}' is not an executable in --network_cni_plugins_dir (${runner.searchPath.join(':')})`,
    );
  }
  return binary;
}

/** Runs ADD through the chain in order, each result the next plugin's `prevResult`. */
export async function addChain(
  record: AttachmentRecord,
  netns: string,
  runner: PluginRunner,
): Promise<Record<string, unknown>> {
  let result: Record<string, unknown> | undefined;
  for (const index of record.plugins.keys()) {
    result = await runPlugin(
      binaryOf(record, index, runner),
      {
        command: 'ADD',
        containerId: record.containerId,
        netns,
        ifname: record.ifname,
        ...(record.cniArgs ? { args: record.cniArgs } : {}),
      },
      invocation(record, index, chains(record.cniVersion) ? result : undefined),
      runner,
      `attaching ${record.ifname} to network '${record.network}'`,
    );
  }
  return result ?? {};
}

/**
 * Runs DEL through the chain in reverse with the final ADD result (CNI 0.4+), every plugin even
 * when one fails (DEL is best effort and plugins accept repeats); rejects with every failure.
 * `netns` is absent when the namespace is gone, as after a reboot: plugins then release what
 * they hold outside it (IPAM leases, host veths, iptables rules).
 */
export async function deleteChain(
  record: AttachmentRecord,
  netns: string | undefined,
  runner: PluginRunner,
): Promise<void> {
  const prevResult =
    record.result && deleteTakesPrevResult(record.cniVersion) ? record.result : undefined;
  const failures: string[] = [];
  for (const index of [...record.plugins.keys()].reverse()) {
    try {
      await runPlugin(
        binaryOf(record, index, runner),
        {
          command: 'DEL',
          containerId: record.containerId,
          ifname: record.ifname,
          ...(netns === undefined ? {} : { netns }),
          ...(record.cniArgs ? { args: record.cniArgs } : {}),
        },
        invocation(record, index, prevResult),
        runner,
        `detaching ${record.ifname} from network '${record.network}'`,
      );
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (failures.length > 0) throw new CniPluginError(failures.join('; '));
}
