import {
  type ContainerConfig,
  type ContainerLaunchInfo,
  InvalidContainerConfigError,
  type Isolator,
  type RLimit,
  type RLimitType,
} from '@corral/core';

/** Where the limits sit in a LAUNCH_CONTAINER call (`container_info` of a ContainerConfig). */
export const RLIMIT_INFO_FIELD = 'container.rlimit_info';

/** Every `RLMT_*` name; `satisfies` keeps the list in step with `@corral/core`'s type. */
export const RLIMIT_TYPES = Object.keys({
  RLMT_AS: true,
  RLMT_CORE: true,
  RLMT_CPU: true,
  RLMT_DATA: true,
  RLMT_FSIZE: true,
  RLMT_LOCKS: true,
  RLMT_MEMLOCK: true,
  RLMT_MSGQUEUE: true,
  RLMT_NICE: true,
  RLMT_NOFILE: true,
  RLMT_NPROC: true,
  RLMT_RSS: true,
  RLMT_RTPRIO: true,
  RLMT_RTTIME: true,
  RLMT_SIGPENDING: true,
  RLMT_STACK: true,
} satisfies Record<RLimitType, true>) as readonly RLimitType[];

const EXAMPLE = '{"rlimits": [{"type": "RLMT_NOFILE", "soft": 1024, "hard": 4096}]}';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(JSON.stringify(value));
}

function isRLimitType(value: unknown): value is RLimitType {
  return (RLIMIT_TYPES as readonly unknown[]).includes(value);
}

/** One entry, checked; `index` and `field` name it in errors. */
function rlimitOf(entry: unknown, field: string, seen: Map<RLimitType, number>, index: number) {
  if (!isRecord(entry)) {
    throw new InvalidContainerConfigError(field, `${show(entry)} is not an object like ${EXAMPLE}`);
  }
  // JSON null means absent, like a missing field.
  const type: unknown = entry.type ?? undefined;
  const soft: unknown = entry.soft ?? undefined;
  const hard: unknown = entry.hard ?? undefined;
  if (!isRLimitType(type)) {
    throw new InvalidContainerConfigError(
      `${field}.type`,
      `${show(type)} is not an rlimit type; accepted: ${RLIMIT_TYPES.join(', ')}`,
    );
  }
  const first = seen.get(type);
  if (first !== undefined) {
    throw new InvalidContainerConfigError(
      `${field}.type`,
      `${type} is already limited by rlimits[${first}]; give each type once`,
    );
  }
  seen.set(type, index);
  if ((soft === undefined) !== (hard === undefined)) {
    throw new InvalidContainerConfigError(
      field,
      `${type} sets only its ${soft === undefined ? 'hard' : 'soft'} limit; set both soft and ` +
        'hard, or neither for unlimited',
    );
  }
  if (soft === undefined || hard === undefined) return { type };
  for (const [name, value] of [
    ['soft', soft],
    ['hard', hard],
  ] as const) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new InvalidContainerConfigError(
        `${field}.${name}`,
        `${type} ${name} limit ${show(value)} is not a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`,
      );
    }
  }
  if ((soft as number) > (hard as number)) {
    // Mesos leaves this to setrlimit(2), which fails the launch later with a bare EINVAL.
    throw new InvalidContainerConfigError(
      field,
      `${type} soft limit ${soft} is above its hard limit ${hard}; the soft limit must be at most the hard limit`,
    );
  }
  return { type, soft: soft as number, hard: hard as number };
}

/**
 * The limits a container asks for in `container_info.rlimit_info`, checked: a known type, at most
 * once each, soft and hard both set (whole numbers, soft ≤ hard) or both unset (unlimited).
 * Throws `InvalidContainerConfigError` naming the entry, the value and what is accepted. The
 * values are checked at run time because they arrive as JSON.
 */
export function rlimitsOf(config: ContainerConfig): RLimit[] {
  const info: unknown = config.container_info?.rlimit_info ?? undefined;
  if (info === undefined) return [];
  if (!isRecord(info)) {
    throw new InvalidContainerConfigError(
      RLIMIT_INFO_FIELD,
      `${show(info)} is not an object like ${EXAMPLE}`,
    );
  }
  const list: unknown = info.rlimits ?? [];
  if (!Array.isArray(list)) {
    throw new InvalidContainerConfigError(
      `${RLIMIT_INFO_FIELD}.rlimits`,
      `${show(list)} is not a list like ${EXAMPLE}`,
    );
  }
  const seen = new Map<RLimitType, number>();
  return list.map((entry: unknown, index) =>
    rlimitOf(entry, `${RLIMIT_INFO_FIELD}.rlimits[${index}]`, seen, index),
  );
}

/**
 * The `posix/rlimits` isolator: it checks the container's rlimits and hands them to the launcher,
 * whose init helper calls setrlimit(2) for each before it execs the command. It keeps no state,
 * so recovery and cleanup have nothing to do.
 */
export function createRlimitsIsolator(): Isolator {
  return {
    // Limits are per process, so they apply the same to nested and standalone containers.
    supportsNesting: true,
    supportsStandalone: true,
    prepare(_id, config): ContainerLaunchInfo | undefined {
      const rlimits = rlimitsOf(config);
      // Only one isolator may set rlimits: leave the field unset when there is nothing to apply.
      return rlimits.length > 0 ? { rlimits } : undefined;
    },
  };
}
