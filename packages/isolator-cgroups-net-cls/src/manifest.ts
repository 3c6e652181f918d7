import { join } from 'node:path';
import { prepareV1Hierarchy } from '@corral/cgroupfs';
import {
  cgroupsFlags,
  defineIsolator,
  defineManifest,
  InvalidFlagError,
  type Logger,
} from '@corral/core';
import { hierarchyTree } from './cgroup-tree.ts';
import {
  checkInterfaces,
  defaultRouteInterfaces,
  Egress,
  type EgressShaping,
  probeShaping,
  retireEgress,
} from './egress/egress.ts';
import { type EgressSettings, egressSettings, INTERFACES_FLAG } from './egress/flags.ts';
import { type ManagedHandles, managedHandles, netClsFlags } from './flags.ts';
import { EGRESS_LIMIT, NetClsIsolator } from './isolator.ts';

/** The nft table of the agent with this primary handle (two agents cannot share a primary). */
export function egressTable(primary: number): string {
  return `corral_egress_${primary.toString(16).padStart(4, '0')}`;
}

async function shapingOf(
  interfaces: EgressSettings['interfaces'],
  primary: number,
): Promise<EgressShaping | undefined> {
  if (interfaces === undefined) return undefined;
  const names = interfaces === 'auto' ? defaultRouteInterfaces() : interfaces;
  if (names.length === 0) {
    throw new InvalidFlagError(
      INTERFACES_FLAG,
      'auto',
      `Invalid value 'auto' for flag --${INTERFACES_FLAG}: this network namespace has no ` +
        'default route, so there is no interface to guess; name the interfaces (e.g. eth0)',
    );
  }
  checkInterfaces(names);
  return { interfaces: names, primary, leaf: await probeShaping() };
}

/**
 * The egress engine the flags ask for, after retiring what an earlier run installed and this one
 * does not (egress turned off, another primary handle, interfaces no longer shaped).
 */
async function egressOf(
  settings: EgressSettings | undefined,
  handles: ManagedHandles | undefined,
  runtimeDir: string,
  logger: Logger,
): Promise<Egress | undefined> {
  const stateFile = join(runtimeDir, 'egress.json');
  if (settings === undefined || handles === undefined) {
    await retireEgress(stateFile);
    return undefined;
  }
  const table = egressTable(handles.primary);
  const shaping = await shapingOf(settings.interfaces, handles.primary);
  await retireEgress(stateFile, {
    table,
    interfaces: shaping?.interfaces ?? [],
    primary: shaping?.primary,
  });
  return new Egress({
    table,
    keys: { kind: 'netcls', primary: handles.primary },
    accounting: settings.accounting,
    shaping,
    stateFile,
    logger,
  });
}

export const cgroupsNetCls = defineIsolator({
  name: 'cgroups/net_cls',
  description:
    'One net_cls cgroup per container; with a primary handle, a managed classid 0xAAAABBBB ' +
    'per container that nftables (meta cgroup) can match; optionally egress accounting and ' +
    'shaping on that classid',
  flags: { ...cgroupsFlags, ...netClsFlags },
  requires: { root: true, linux: true, cgroupSubsystems: ['net_cls'] },
  honours: [`limits.${EGRESS_LIMIT}`],
  async create(flags, context) {
    const handles = managedHandles(flags);
    const settings = egressSettings(flags, handles);
    // Finds the net_cls mount, or mounts it (with net_prio where the kernel binds the two).
    const hierarchy = await prepareV1Hierarchy(flags.cgroups_hierarchy, 'net_cls');
    const egress = await egressOf(settings, handles, context.runtimeDir, context.logger);
    context.logger.info('net_cls hierarchy ready', {
      hierarchy,
      mode: handles ? 'managed' : 'unmanaged',
      ...(handles && { primary: handles.primary, secondaries: handles.secondaries }),
      ...(egress && { egress_accounting: egress.accounting, egress_shaping: egress.shaping }),
    });
    return new NetClsIsolator({
      tree: hierarchyTree(hierarchy),
      root: flags.cgroups_root,
      handles,
      logger: context.logger,
      egress,
      defaultRate: settings?.rate,
    });
  },
});

export default defineManifest(cgroupsNetCls);
