import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { HOST_USER_FILES, lookUpUser, type UserFiles, userNameOf } from '@corral/containerizer';
import { type ContainerID, isEmpty, valueAt } from '@corral/core';
import { isObject } from '../http/call-validation.ts';
import { UnsupportedBundleFieldError } from './errors.ts';

/** Who called, as the kernel says (SO_PEERCRED). */
export interface Caller {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

export interface BundleContext {
  readonly containerId: ContainerID;
  /** The bundle directory (absolute); a relative `root.path` is resolved against it. */
  readonly bundle: string;
  readonly caller: Caller;
  /** Whether `namespaces/ipc` is enabled: without it every container shares the host's IPC. */
  readonly ipcIsolator: boolean;
  readonly userFiles?: UserFiles;
  /** The caller's hard rlimits by OCI name; a non-root caller may not raise them. */
  readonly callerHardLimits?: (pid: number) => ReadonlyMap<string, number>;
}

/** A bundle mapped onto a LAUNCH_CONTAINER body, and what `state` reports of it. */
export interface BundleLaunch {
  /** The `launch_container` object of a v1 call, before the API's own validation. */
  readonly launchContainer: Record<string, unknown>;
  readonly annotations: Readonly<Record<string, string>>;
}

const isSet = (value: unknown): boolean => !isEmpty(value);

const NO_ROOTFS = 'Corral runs commands on the host filesystem and has no OCI mounts yet';

/**
 * OCI fields Corral has no equivalent for, with what to do instead. Anything not here and not
 * mapped below is an unknown property, which runtime-spec says a runtime MUST ignore.
 */
const REFUSED: readonly (readonly [path: string, reason: string])[] = [
  ['process.terminal', 'is not supported: Corral allocates no terminals; set it to false'],
  ['process.consoleSize', 'is not supported: Corral allocates no terminals'],
  ['process.commandLine', 'is not supported: it is for Windows; use process.args'],
  [
    'process.capabilities',
    'is not supported yet: remove it (a non-root user runs with no capabilities; root keeps its own)',
  ],
  ['process.apparmorProfile', 'is not supported: Corral applies no AppArmor profiles'],
  ['process.selinuxLabel', 'is not supported: Corral applies no SELinux labels'],
  ['process.oomScoreAdj', 'is not supported: Corral sets no OOM score'],
  ['process.scheduler', 'is not supported: Corral sets no scheduling policy'],
  ['process.ioPriority', 'is not supported: Corral sets no I/O priority'],
  ['process.execCPUAffinity', 'is not supported: Corral sets no CPU affinity'],
  ['process.user.umask', 'is not supported: the command inherits the umask of the init'],
  ['process.user.username', 'is not supported: it is for Windows; use process.user.uid'],
  ['root.readonly', `is not supported: ${NO_ROOTFS}`],
  ['mounts', `is not supported: ${NO_ROOTFS}; leave it empty`],
  ['hostname', 'is not supported: no isolator creates a UTS namespace'],
  ['domainname', 'is not supported: no isolator creates a UTS namespace'],
  ['hooks', 'is not supported: Corral runs no OCI hooks'],
  ['linux.uidMappings', 'is not supported: Corral creates no user namespaces'],
  ['linux.gidMappings', 'is not supported: Corral creates no user namespaces'],
  ['linux.timeOffsets', 'is not supported: Corral creates no time namespaces'],
  ['linux.devices', `is not supported: ${NO_ROOTFS}`],
  ['linux.cgroupsPath', 'is not supported: the agent places cgroups under its --cgroups_root'],
  ['linux.sysctl', 'is not supported: Corral sets no sysctls'],
  ['linux.seccomp', 'is not supported: Corral applies no seccomp filters'],
  ['linux.rootfsPropagation', `is not supported: ${NO_ROOTFS}`],
  ['linux.maskedPaths', `is not supported: ${NO_ROOTFS}`],
  ['linux.readonlyPaths', `is not supported: ${NO_ROOTFS}`],
  ['linux.mountLabel', 'is not supported: Corral applies no SELinux labels'],
  ['linux.intelRdt', 'is not supported: Corral has no resctrl support'],
  ['linux.personality', 'is not supported: Corral sets no execution domain'],
  ['linux.resources.devices', 'is not supported: Corral has no devices cgroup isolator'],
  ['linux.resources.pids', 'is not supported yet: no launch field carries a pids limit'],
  ['linux.resources.blockIO', 'is not supported: Corral has no blkio isolator'],
  ['linux.resources.hugepageLimits', 'is not supported: Corral has no hugetlb isolator'],
  ['linux.resources.rdma', 'is not supported: Corral has no rdma isolator'],
  ['linux.resources.unified', 'is not supported: Corral writes no raw cgroup v2 files'],
  [
    'linux.resources.network',
    'is not supported yet: Corral assigns classids itself (managed cgroups/net_cls handles); remove it',
  ],
  ['linux.resources.memory.swap', 'is not supported: cgroups/mem takes a limit only'],
  ['linux.resources.memory.kernel', 'is not supported: cgroups/mem takes a limit only'],
  ['linux.resources.memory.kernelTCP', 'is not supported: cgroups/mem takes a limit only'],
  ['linux.resources.memory.swappiness', 'is not supported: cgroups/mem takes a limit only'],
  ['linux.resources.memory.disableOOMKiller', 'is not supported: an OOM kill ends the container'],
  ['linux.resources.cpu.cpus', 'is not supported: Corral has no cpuset isolator'],
  ['linux.resources.cpu.mems', 'is not supported: Corral has no cpuset isolator'],
  ['linux.resources.cpu.realtimeRuntime', 'is not supported: Corral sets no realtime budget'],
  ['linux.resources.cpu.realtimePeriod', 'is not supported: Corral sets no realtime budget'],
  ['linux.resources.cpu.idle', 'is not supported: Corral sets no SCHED_IDLE cgroups'],
  ['linux.resources.cpu.burst', 'is not supported: Corral sets no CFS burst'],
  ['solaris', 'is not supported: Corral runs Linux containers'],
  ['windows', 'is not supported: Corral runs Linux containers'],
  ['vm', 'is not supported: Corral runs Linux containers'],
  ['zos', 'is not supported: Corral runs Linux containers'],
];

const refuse = (field: string, reason: string): never => {
  throw new UnsupportedBundleFieldError(field, reason);
};

function stringList(value: unknown, field: string, example: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    return refuse(field, `must be a list of strings, e.g. ${example}`);
  }
  return value;
}

/** `/` itself, or a path (Slurm's `<bundle>/rootfs`) that resolves to it, e.g. `rootfs -> /`. */
function checkRoot(root: unknown, bundle: string): void {
  const path = isObject(root) ? root.path : undefined;
  if (typeof path !== 'string' || path === '') {
    refuse('root.path', 'must be set, e.g. "/" or "rootfs" with rootfs -> / in the bundle');
  }
  const absolute = resolve(bundle, path as string);
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    refuse('root.path', `${JSON.stringify(path)} does not exist in the bundle`);
    return;
  }
  if (real !== '/') {
    refuse(
      'root.path',
      `${JSON.stringify(path)} resolves to ${real}, not the host root /: ${NO_ROOTFS} (link rootfs -> / in the bundle)`,
    );
  }
}

/**
 * The user the command runs as. A non-root caller runs as itself whatever the bundle says (the
 * kernel told us who it is); root runs the bundle's uid, which must be a user of this host with
 * that primary gid, since Corral switches to a named user with the user's own groups.
 */
function commandUser(user: unknown, context: BundleContext): string | undefined {
  const files = context.userFiles ?? HOST_USER_FILES;
  const { caller } = context;
  const uid = caller.uid === 0 && isObject(user) ? user.uid : caller.uid;
  if (typeof uid !== 'number' || !Number.isInteger(uid) || uid < 0) {
    return refuse('process.user.uid', `must be a uid, got ${JSON.stringify(uid)}`);
  }
  const name = userNameOf(uid, files);
  if (name === undefined) {
    return refuse('process.user.uid', `${uid} has no entry in ${files.passwd}`);
  }
  const host = lookUpUser(name, files);
  if (!host) return refuse('process.user.uid', `${uid} has no entry in ${files.passwd}`);
  if (caller.uid === 0 && isObject(user)) {
    if (user.gid !== undefined && user.gid !== host.gid) {
      refuse(
        'process.user.gid',
        `${JSON.stringify(user.gid)} is not the primary group ${host.gid} of user '${name}' (uid ${uid})`,
      );
    }
    const extra = Array.isArray(user.additionalGids) ? user.additionalGids : [];
    const foreign = extra.find((gid) => !host.groups.includes(gid as number));
    if (foreign !== undefined) {
      refuse(
        'process.user.additionalGids',
        `${JSON.stringify(foreign)} is not a group of user '${name}' (${host.groups.join(', ')})`,
      );
    }
  }
  return uid === 0 && caller.uid === 0 ? undefined : name;
}

function environment(env: unknown): { name: string; value: string }[] {
  const entries = env === undefined ? [] : stringList(env, 'process.env', '["PATH=/usr/bin"]');
  const variables = new Map<string, string>();
  for (const entry of entries) {
    const split = entry.indexOf('=');
    if (split <= 0) refuse('process.env', `entry ${JSON.stringify(entry)} is not KEY=value`);
    variables.set(entry.slice(0, split), entry.slice(split + 1));
  }
  return [...variables].map(([name, value]) => ({ name, value }));
}

/** runtime-spec's 2^64-1 "unlimited" does not survive JSON.parse exactly; anything this big is. */
const UNLIMITED = 2 ** 63;

const RLIMIT =
  /^RLIMIT_(AS|CORE|CPU|DATA|FSIZE|LOCKS|MEMLOCK|MSGQUEUE|NICE|NOFILE|NPROC|RSS|RTPRIO|RTTIME|SIGPENDING|STACK)$/;

function rlimits(value: unknown, context: BundleContext): Record<string, unknown> | undefined {
  if (!isSet(value)) return undefined;
  if (!Array.isArray(value)) return refuse('process.rlimits', 'must be a list');
  const callerLimits =
    context.caller.uid === 0 ? undefined : context.callerHardLimits?.(context.caller.pid);
  const mapped = value.map((rlimit: unknown) => {
    const type = isObject(rlimit) ? rlimit.type : undefined;
    const match = typeof type === 'string' ? RLIMIT.exec(type) : null;
    if (!isObject(rlimit) || !match) {
      return refuse('process.rlimits', `type ${JSON.stringify(type)} is not an RLIMIT_* name`);
    }
    const field = `process.rlimits[type=${type}]`;
    const { soft, hard } = rlimit;
    if (typeof soft !== 'number' || typeof hard !== 'number') {
      return refuse(field, 'needs numeric soft and hard limits');
    }
    const ceiling = callerLimits?.get(type as string);
    if (ceiling !== undefined && hard > ceiling) {
      refuse(field, `hard limit ${hard} is above the caller's own hard limit ${ceiling}`);
    }
    if (soft >= UNLIMITED && hard >= UNLIMITED) return { type: `RLMT_${match[1]}` };
    if (hard >= UNLIMITED) {
      refuse(field, 'a finite soft limit under an unlimited hard one is not expressible in Corral');
    }
    return { type: `RLMT_${match[1]}`, soft, hard };
  });
  return { rlimits: mapped };
}

const MIB = 1024 * 1024;

function scalar(name: string, value: number) {
  return { name, type: 'SCALAR', scalar: { value } };
}

/** Memory and CPU of `linux.resources` as the Mesos requests and limits cgroups/* honour. */
function resourceFields(resources: unknown): Record<string, unknown> {
  if (!isObject(resources)) return {};
  const memory = isObject(resources.memory) ? resources.memory : {};
  const cpu = isObject(resources.cpu) ? resources.cpu : {};
  const requested: ReturnType<typeof scalar>[] = [];
  const limits: Record<string, { value: number }> = {};
  const positive = (field: string, value: unknown): number | undefined => {
    // -1 (and 0 for shares) is runtime-spec's "no limit".
    if (value === undefined || value === null || value === -1 || value === 0) return undefined;
    if (typeof value !== 'number' || !(value > 0)) {
      return refuse(field, `must be a positive number, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const memLimit = positive('linux.resources.memory.limit', memory.limit);
  if (memLimit !== undefined) limits.mem = { value: memLimit / MIB };
  const memReservation = positive('linux.resources.memory.reservation', memory.reservation);
  if (memReservation !== undefined) requested.push(scalar('mem', memReservation / MIB));
  const shares = positive('linux.resources.cpu.shares', cpu.shares);
  if (shares !== undefined) requested.push(scalar('cpus', shares / 1024));
  const quota = positive('linux.resources.cpu.quota', cpu.quota);
  const period = positive('linux.resources.cpu.period', cpu.period) ?? 100_000;
  if (quota !== undefined) limits.cpus = { value: quota / period };
  return {
    ...(requested.length > 0 ? { resources: requested } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

/** `linux.namespaces`: only the IPC namespace has a Corral isolator; joining by path has none. */
function ipcMode(namespaces: unknown, ipcIsolator: boolean): string | undefined {
  const list = namespaces === undefined ? [] : namespaces;
  if (!Array.isArray(list)) return refuse('linux.namespaces', 'must be a list');
  let privateIpc = false;
  for (const namespace of list) {
    const type = isObject(namespace) ? namespace.type : undefined;
    const field = `linux.namespaces[type=${String(type)}]`;
    if (isObject(namespace) && isSet(namespace.path)) {
      refuse(`${field}.path`, 'is not supported: Corral does not join existing namespaces');
    }
    if (type !== 'ipc') {
      refuse(
        field,
        'is not supported: of the namespaces, Corral creates only ipc (namespaces/ipc)',
      );
    }
    privateIpc = true;
  }
  // Without the ipc namespace the bundle shares the host's: the isolator must be told so.
  if (privateIpc) return 'PRIVATE';
  return ipcIsolator ? 'SHARE_PARENT' : undefined;
}

/**
 * Maps a bundle's `config.json` onto a LAUNCH_CONTAINER body. Fields with no Corral equivalent
 * are refused, one at a time, naming the field; fields that map onto launch fields (rlimits,
 * memory and CPU, the IPC namespace) are then checked by the agent's launch-field policy like any
 * other launch, so an agent without `cgroups/mem` refuses a memory limit with the same message.
 */
export function bundleLaunch(config: unknown, context: BundleContext): BundleLaunch {
  if (!isObject(config)) return refuse('(root)', 'must be a JSON object');
  if (typeof config.ociVersion !== 'string' || !config.ociVersion.startsWith('1.')) {
    refuse(
      'ociVersion',
      `must be a 1.x runtime-spec version, got ${JSON.stringify(config.ociVersion)}`,
    );
  }
  for (const [path, reason] of REFUSED) {
    if (isSet(valueAt(config, path))) refuse(path, reason);
  }
  checkRoot(config.root, context.bundle);
  const process = isObject(config.process) ? config.process : refuse('process', 'must be set');
  const args = stringList(process.args, 'process.args', '["echo", "hi"]');
  if (args.length === 0 || args[0] === '') refuse('process.args', 'must name a program');
  const cwd = process.cwd;
  if (typeof cwd !== 'string' || !isAbsolute(cwd)) {
    refuse('process.cwd', `must be an absolute path, got ${JSON.stringify(cwd)}`);
  }
  const annotations = config.annotations ?? {};
  if (!isObject(annotations) || !Object.values(annotations).every((v) => typeof v === 'string')) {
    refuse('annotations', 'must map names to strings');
  }
  const user = commandUser(process.user, context);
  const ipc = ipcMode(valueAt(config, 'linux.namespaces'), context.ipcIsolator);
  const rlimitInfo = rlimits(process.rlimits, context);
  const linuxInfo = {
    ...(ipc ? { ipc_mode: ipc } : {}),
    ...(process.noNewPrivileges === false ? { no_new_privileges: false } : {}),
  };
  const container = {
    ...(Object.keys(linuxInfo).length > 0 ? { linux_info: linuxInfo } : {}),
    ...(rlimitInfo ? { rlimit_info: rlimitInfo } : {}),
  };
  return {
    launchContainer: {
      container_id: context.containerId,
      command: {
        shell: false,
        // A Corral launch has no working directory (commands start in their sandbox): a shell
        // changes to process.cwd, then execs args with the bundle's PATH, as runc would.
        value: '/bin/sh',
        arguments: ['sh', '-c', 'cd -- "$1" && shift && exec "$@"', 'corral-runc', cwd, ...args],
        environment: { variables: environment(process.env) },
        ...(user === undefined ? {} : { user }),
      },
      ...resourceFields(valueAt(config, 'linux.resources')),
      ...(Object.keys(container).length > 0 ? { container } : {}),
    },
    annotations: annotations as Record<string, string>,
  };
}

/** runtime-spec rlimit names in /proc/<pid>/limits row order (the kernel's RLIMIT_* order). */
const PROC_LIMITS_ORDER = [
  'CPU',
  'FSIZE',
  'DATA',
  'STACK',
  'CORE',
  'RSS',
  'NPROC',
  'NOFILE',
  'MEMLOCK',
  'AS',
  'LOCKS',
  'SIGPENDING',
  'MSGQUEUE',
  'NICE',
  'RTPRIO',
  'RTTIME',
];

/** A process's hard limits from /proc/<pid>/limits, by OCI name (`RLIMIT_NOFILE`). */
export function hardLimitsOf(pid: number): ReadonlyMap<string, number> {
  const rows = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').slice(1);
  const limits = new Map<string, number>();
  PROC_LIMITS_ORDER.forEach((name, index) => {
    const hard = /^.+?\s{2,}\S+\s+(\S+)/.exec(rows[index] ?? '')?.[1];
    if (hard !== undefined) {
      limits.set(`RLIMIT_${name}`, hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard));
    }
  });
  return limits;
}
