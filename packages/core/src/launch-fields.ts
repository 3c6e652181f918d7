/**
 * Launch fields: the parts of a `LAUNCH_CONTAINER` call an operator can set, named by path as they
 * appear in the call (`container.linux_info.seccomp`, `resources[name=mem]`, `limits.cpus`). Each
 * field is honoured either by the engine or by an isolator that says so in its manifest
 * (`honours`); the agent refuses a launch that sets a field nobody honours, so nothing an operator
 * asked for is silently dropped.
 *
 * This is the one list of Mesos fields Corral knows. JSON keys not listed here are ignored, as Mesos
 * ignores fields it does not know (clients send newer ones).
 */

/**
 * A field's path: `command.*`, `container.*`, `resources[name=<resource>]` or `limits.<resource>`.
 * A path covers its sub-fields: declaring `container.rlimit_info` honours everything under it, and
 * `resources` every resource.
 */
export type LaunchFieldPath = string;

export interface KnownLaunchField {
  readonly path: LaunchFieldPath;
  /** What it asks for, in a few words (the ownership table shows it). */
  readonly meaning: string;
  /**
   * The isolator that honours it, when one is designed (Corral's name, which is Mesos' where Mesos
   * has one); the refusal names it when it is not enabled.
   */
  readonly isolator?: string;
  /** Why nothing honours it and what to do instead, for fields no isolator is designed for. */
  readonly unsupported?: string;
  /**
   * A value that sets the field: what tests and the isolator testkit send (for `container.type`,
   * whose only accepted value is its default, that default).
   */
  readonly example: unknown;
  /**
   * The Mesos default, which counts as not set. Without one, absent, null, false, '' and empty
   * lists or objects do.
   */
  readonly defaultValue?: unknown;
}

const NO_FETCHER =
  'Corral has no fetcher: put the files in place before launching, or fetch them in the command';
const NO_IMAGES =
  'Corral runs commands on the host filesystem and has no image provisioner; leave the image out';

/** Every known field, in the order of the Mesos messages. */
export const KNOWN_LAUNCH_FIELDS: readonly KnownLaunchField[] = [
  { path: 'command.value', meaning: 'the command to run', example: 'true' },
  { path: 'command.shell', meaning: 'run it with /bin/sh -c', example: false, defaultValue: true },
  { path: 'command.arguments', meaning: 'argv of a non-shell command', example: ['true'] },
  {
    path: 'command.environment',
    meaning: 'environment variables of the command',
    example: { variables: [{ name: 'A', value: 'b' }] },
  },
  { path: 'command.user', meaning: 'the user the command runs as', example: 'nobody' },
  {
    path: 'command.uris',
    meaning: 'files to download into the sandbox',
    unsupported: NO_FETCHER,
    example: [{ value: 'http://127.0.0.1/file' }],
  },
  {
    path: 'container.type',
    meaning: 'the containerizer (only MESOS)',
    example: 'MESOS',
    defaultValue: 'MESOS',
  },
  { path: 'container.hostname', meaning: 'hostname in a UTS namespace', example: 'task' },
  {
    path: 'container.volumes',
    meaning: 'volumes mounted into the container',
    isolator: 'docker/volume',
    example: [{ container_path: 'data', mode: 'RW', host_path: '/tmp' }],
  },
  {
    path: 'container.docker',
    meaning: 'Docker containerizer options',
    unsupported: 'Corral has no Docker containerizer; use type MESOS without docker options',
    example: { image: 'busybox' },
  },
  {
    path: 'container.mesos.image',
    meaning: 'a container image as root filesystem',
    unsupported: NO_IMAGES,
    example: { type: 'DOCKER', docker: { name: 'busybox' } },
  },
  {
    path: 'container.network_infos',
    meaning: 'networks to join',
    isolator: 'network/cni',
    example: [{ name: 'net1' }],
  },
  {
    path: 'container.tty_info',
    meaning: 'a terminal for the command',
    unsupported: 'Corral does not allocate terminals; leave tty_info out',
    example: { window_size: { rows: 24, columns: 80 } },
  },
  {
    path: 'container.rlimit_info',
    meaning: 'POSIX resource limits (setrlimit)',
    isolator: 'posix/rlimits',
    example: { rlimits: [{ type: 'RLMT_NOFILE', soft: 1024, hard: 1024 }] },
  },
  {
    path: 'container.linux_info.capability_info',
    meaning: 'effective capabilities (deprecated name)',
    isolator: 'linux/capabilities',
    example: { capabilities: ['CHOWN'] },
  },
  {
    path: 'container.linux_info.effective_capabilities',
    meaning: 'capabilities the command runs with',
    isolator: 'linux/capabilities',
    example: { capabilities: ['CHOWN'] },
  },
  {
    path: 'container.linux_info.bounding_capabilities',
    meaning: 'upper bound of capabilities',
    isolator: 'linux/capabilities',
    example: { capabilities: ['CHOWN'] },
  },
  {
    path: 'container.linux_info.no_new_privileges',
    meaning: 'false opts out of no_new_privs (Corral)',
    example: false,
    defaultValue: true,
  },
  {
    path: 'container.linux_info.share_pid_namespace',
    meaning: "share the parent's pid namespace",
    isolator: 'namespaces/pid',
    example: true,
    defaultValue: false,
  },
  {
    path: 'container.linux_info.seccomp',
    meaning: 'a seccomp profile',
    isolator: 'linux/seccomp',
    example: { profile_name: 'default.json' },
  },
  {
    path: 'container.linux_info.ipc_mode',
    meaning: 'PRIVATE or SHARE_PARENT IPC namespace',
    isolator: 'namespaces/ipc',
    example: 'PRIVATE',
    defaultValue: 'UNKNOWN',
  },
  {
    path: 'container.linux_info.shm_size',
    meaning: 'size of a private /dev/shm in MB',
    isolator: 'namespaces/ipc',
    example: 16,
  },
  {
    path: 'container.linux_info.share_cgroups',
    meaning: "share the parent's cgroups (nested containers)",
    unsupported: 'Corral has no nested containers yet; leave share_cgroups out',
    example: false,
    defaultValue: true,
  },
  {
    path: 'resources[name=cpus]',
    meaning: 'CPU request (CPU shares)',
    isolator: 'cgroups/cpu',
    example: 0.5,
  },
  {
    path: 'resources[name=mem]',
    meaning: 'memory request in MB',
    isolator: 'cgroups/mem',
    example: 64,
  },
  { path: 'limits.cpus', meaning: 'CPU limit (CFS quota)', isolator: 'cgroups/cpu', example: 1 },
  { path: 'limits.mem', meaning: 'memory limit in MB', isolator: 'cgroups/mem', example: 64 },
  {
    // Corral's: Mesos has no per-task egress limit (port_mapping only had agent flags). A limit,
    // so UPDATE can change it, in bits/s like Kubernetes' kubernetes.io/egress-bandwidth.
    path: 'limits.network_egress',
    meaning: 'egress rate limit in bits/s (Corral)',
    isolator: 'cgroups/net_cls',
    example: 20_000_000,
  },
];

/** A launch call's settable parts, in the API's JSON shape (unknown keys allowed). */
export interface LaunchFieldsInput {
  readonly command?: unknown;
  readonly container?: unknown;
  readonly resources?: unknown;
  readonly limits?: unknown;
}

const PATH =
  /^(command|container)(\.[a-z][a-z0-9_]*)*$|^resources(\[name=[^\]]+\])?$|^limits(\.[^.[\]]+)?$/;

/** Whether `path` is written as a launch field path (the manifest's `honours` entries must be). */
export function isLaunchFieldPath(path: unknown): path is LaunchFieldPath {
  return typeof path === 'string' && PATH.test(path);
}

/** Whether declaring `declared` honours `field`: the same path, or an ancestor of it. */
export function covers(declared: LaunchFieldPath, field: LaunchFieldPath): boolean {
  return field === declared || field.startsWith(`${declared}.`) || field.startsWith(`${declared}[`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Absent, null, false, '' and empty lists or objects (recursively) ask for nothing. */
export function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.values(value).every(isEmpty);
  return false;
}

/** The value at a dotted path (`linux.resources.memory`) of a JSON object, if every step is one. */
export function valueAt(input: unknown, path: string): unknown {
  let value: unknown = input;
  for (const key of path.split('.')) {
    if (!isRecord(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** The field path of one resource of a launch. */
export function resourceField(name: string): LaunchFieldPath {
  return `resources[name=${name}]`;
}

/**
 * The fields `input` sets to something other than their default: every known field with a value,
 * every resource by name and every limit by name. Unknown keys are not reported.
 */
export function setLaunchFields(input: LaunchFieldsInput): LaunchFieldPath[] {
  const set: LaunchFieldPath[] = [];
  for (const field of KNOWN_LAUNCH_FIELDS) {
    if (field.path.startsWith('resources') || field.path.startsWith('limits')) continue;
    const value = valueAt(input, field.path);
    const unset =
      field.defaultValue === undefined
        ? isEmpty(value)
        : value === undefined || value === null || value === field.defaultValue;
    if (unset) continue;
    set.push(field.path);
  }
  if (Array.isArray(input.resources)) {
    for (const resource of input.resources) {
      if (isRecord(resource) && typeof resource.name === 'string') {
        set.push(resourceField(resource.name));
      }
    }
  }
  if (isRecord(input.limits)) {
    for (const name of Object.keys(input.limits)) set.push(`limits.${name}`);
  }
  return [...new Set(set)];
}

/** The known field `path` is, or falls under (`container.volumes` for a volume's sub-field). */
export function knownLaunchField(path: LaunchFieldPath): KnownLaunchField | undefined {
  return KNOWN_LAUNCH_FIELDS.find((field) => covers(field.path, path));
}
