import { flag, InvalidFlagError } from '@corral/core';
import { hex } from '../errors.ts';
import type { ManagedHandles } from '../flags.ts';
import { parseRate, RATE_ACCEPTED } from './rate.ts';

export const ACCOUNTING_FLAG = 'cgroups_net_cls_egress_accounting';
export const INTERFACES_FLAG = 'cgroups_net_cls_egress_interfaces';
export const RATE_FLAG = 'cgroups_net_cls_egress_rate_limit';

/** Handles from 0x8000 up are where the kernel auto-assigns qdisc handles: HTB could collide. */
export const MAX_SHAPING_PRIMARY = 0x7fff;

/** `auto`, or interface names separated by commas. */
export function parseInterfaces(raw: string): readonly string[] | 'auto' {
  if (raw === 'auto') return 'auto';
  const names = raw.split(',');
  const bad = names.find((name) => !/^[A-Za-z0-9_.:@-]{1,15}$/.test(name));
  if (bad !== undefined) throw new Error(`'${bad}' is not an interface name`);
  return names;
}

export const egressFlags = {
  [ACCOUNTING_FLAG]: flag.boolean({
    help:
      "Count every container's egress (net_tx_bytes, net_tx_packets in its usage) with one " +
      'nftables set keyed by its classid; needs --cgroups_net_cls_primary_handle',
    default: false,
  }),
  [INTERFACES_FLAG]: flag.custom({
    help:
      "Shape containers' egress on these interfaces with an HTB tree whose handle is the " +
      'primary handle (below 0x8000); `auto` means the devices of the default routes. Enables ' +
      'limits.network_egress and --cgroups_net_cls_egress_rate_limit',
    accepted: '`auto` or interface names separated by commas, e.g. eth0,eth1',
    parse: parseInterfaces,
  }),
  [RATE_FLAG]: flag.custom({
    help:
      'Egress limit of a container that sets no limits.network_egress, in bits per second ' +
      '(e.g. 20M); needs --cgroups_net_cls_egress_interfaces',
    accepted: RATE_ACCEPTED,
    parse: parseRate,
  }),
};

function refuse(name: string, value: string, why: string): never {
  throw new InvalidFlagError(name, value, `Invalid value '${value}' for flag --${name}: ${why}`);
}

export interface EgressSettings {
  readonly accounting: boolean;
  /** Present when shaping: `auto` or the interfaces. */
  readonly interfaces?: readonly string[] | 'auto' | undefined;
  /** The default limit in bit/s. */
  readonly rate?: number | undefined;
}

/** The egress settings the flags ask for, or undefined when egress is off; refuses mismatches. */
export function egressSettings(
  values: {
    readonly [ACCOUNTING_FLAG]?: boolean | undefined;
    readonly [INTERFACES_FLAG]?: readonly string[] | 'auto' | undefined;
    readonly [RATE_FLAG]?: number | undefined;
  },
  handles: ManagedHandles | undefined,
): EgressSettings | undefined {
  const accounting = values[ACCOUNTING_FLAG] ?? false;
  const interfaces = values[INTERFACES_FLAG];
  const rate = values[RATE_FLAG];
  if (rate !== undefined && interfaces === undefined) {
    refuse(RATE_FLAG, String(rate), `it needs --${INTERFACES_FLAG} (the interfaces to shape on)`);
  }
  if (!accounting && interfaces === undefined) return undefined;
  if (handles === undefined) {
    const [name, value] = accounting
      ? [ACCOUNTING_FLAG, 'true']
      : [INTERFACES_FLAG, String(interfaces)];
    refuse(
      name,
      value,
      'it needs managed classids: set --cgroups_net_cls_primary_handle (e.g. 0x19)',
    );
  }
  if (interfaces !== undefined && handles.primary > MAX_SHAPING_PRIMARY) {
    refuse(
      'cgroups_net_cls_primary_handle',
      hex(handles.primary),
      `shaping (--${INTERFACES_FLAG}) uses the primary handle as the HTB qdisc handle, and ` +
        `handles from 0x8000 up are the ones the kernel assigns to qdiscs by itself; accepted ` +
        `with shaping: 0x1..${hex(MAX_SHAPING_PRIMARY)}`,
    );
  }
  return { accounting, interfaces, rate };
}
