import { CAPABILITIES, type Capability, capabilityNumber, type RLimit } from '@corral/core';
import { LaunchError } from './errors.ts';
import type { InitSpec } from './launcher.ts';

/*
 * What the agent sends the native helper (see native/spawner.c and native/init.c): frames on the
 * spawner's socket, and in a `launch` frame the init's arguments for a spec.
 */

function rlimitArgument(rlimit: RLimit): string {
  const { type, soft, hard } = rlimit;
  if ((soft === undefined) !== (hard === undefined)) {
    throw new LaunchError(
      `Invalid rlimit values for ${type}: soft and hard must be both set or both unset (unlimited)`,
    );
  }
  for (const value of [soft, hard]) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new LaunchError(`Invalid rlimit value ${value} for ${type}: expected an integer >= 0`);
    }
  }
  return `--rlimit=${type.replace(/^RLMT_/, '')}:${soft ?? 'unlimited'}:${hard ?? 'unlimited'}`;
}

function isId(value: number): boolean {
  // 2^32 - 1 is (uid_t)-1, which set*id(2) takes as "leave unchanged".
  return Number.isSafeInteger(value) && value >= 0 && value < 0xffffffff;
}

function idArgument(what: string, value: number): string {
  if (!isId(value)) {
    throw new LaunchError(`Invalid ${what} ${value}: expected an integer from 0 to 4294967294`);
  }
  return String(value);
}

/** `names` as the init's hexadecimal mask, bit N for capability N. */
function capabilityMask(names: readonly Capability[], set: string): string {
  let mask = 0n;
  for (const name of names) {
    const number = capabilityNumber(name);
    if (number === undefined) {
      throw new LaunchError(
        `Unknown capability '${name}' in the ${set} set; known: ${CAPABILITIES.join(', ')}`,
      );
    }
    mask |= 1n << BigInt(number);
  }
  return mask.toString(16);
}

function privilegeArguments(spec: InitSpec): string[] {
  const args: string[] = [];
  if (spec.user) {
    args.push(`--user=${idArgument('uid', spec.user.uid)}:${idArgument('gid', spec.user.gid)}`);
  }
  if (spec.groups) {
    args.push(`--groups=${spec.groups.map((gid) => idArgument('group', gid)).join(',')}`);
  }
  if (spec.effectiveCapabilities) {
    args.push(`--cap-effective=${capabilityMask(spec.effectiveCapabilities, 'effective')}`);
  }
  if (spec.boundingCapabilities) {
    args.push(`--cap-bounding=${capabilityMask(spec.boundingCapabilities, 'bounding')}`);
  }
  if (spec.noNewPrivileges) args.push('--no-new-privs');
  return args;
}

/** The init's arguments for `spec` (see native/init.c for the encoding). */
export function helperArguments(spec: InitSpec): string[] {
  if (spec.argv.length === 0) throw new LaunchError('Cannot launch an empty argv');
  const args: string[] = [];
  for (const mount of spec.mounts) {
    args.push(
      '--mount',
      mount.source ?? '',
      mount.target,
      mount.type ?? '',
      (mount.flags ?? []).join(','),
      mount.options ?? '',
    );
  }
  for (const rlimit of spec.rlimits) args.push(rlimitArgument(rlimit));
  args.push(`--cwd=${spec.workingDirectory}`);
  if (spec.hostname !== undefined) args.push(`--hostname=${spec.hostname}`);
  args.push(...privilegeArguments(spec));
  args.push(`--status-file=${spec.statusFile}`, '--', ...spec.argv);
  return args;
}

/** Encodes one frame: a 4-byte little-endian payload length, then NUL-terminated fields. */
export function encodeFrame(fields: readonly string[]): Buffer {
  const bad = fields.find((field) => field.includes('\0'));
  if (bad !== undefined) {
    throw new LaunchError(
      `Cannot pass ${JSON.stringify(bad)} to the container init: it contains a NUL byte`,
    );
  }
  const payload = Buffer.from(fields.map((field) => `${field}\0`).join(''));
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

/** Splits the spawner's byte stream into frames, each returned as its fields. */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  /** Adds `chunk`; returns the frames it completed, in order. */
  push(chunk: Buffer): string[][] {
    const buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: string[][] = [];
    let offset = 0;
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32LE(offset);
      if (buffer.length - offset - 4 < length) break;
      const payload = buffer.toString('utf8', offset + 4, offset + 4 + length);
      frames.push(payload.split('\0').slice(0, -1));
      offset += 4 + length;
    }
    this.#pending = buffer.subarray(offset);
    return frames;
  }
}

/**
 * The fields of the `launch` request for `spec`: `cgroupDir` is the absolute path of the cgroup
 * the init starts in (undefined: the spawner's own); the namespaces travel beside the init's
 * arguments, since the spawner creates most of them with the clone.
 */
export function launchRequest(token: number, spec: InitSpec, cgroupDir?: string): string[] {
  const args = helperArguments(spec);
  const environment = Object.entries(spec.environment).map(([name, value]) => `${name}=${value}`);
  return [
    'launch',
    String(token),
    spec.stdoutFile,
    spec.stderrFile,
    cgroupDir ?? '',
    spec.cloneNamespaces.join(','),
    String(args.length),
    ...args,
    ...environment,
  ];
}
