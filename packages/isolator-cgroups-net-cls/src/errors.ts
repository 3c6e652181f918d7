import { CorralError } from '@corral/core';

/** `0x19`: how handles and ranges appear in messages, as operators write them in flags. */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** A handle whose primary or secondary half is outside the range the manager was given. */
export class NetClsHandleOutOfRangeError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_HANDLE_OUT_OF_RANGE';
  readonly half: 'primary' | 'secondary';
  readonly value: number;

  constructor(half: 'primary' | 'secondary', value: number, lo: number, hi: number) {
    super(
      `${half === 'primary' ? 'Primary' : 'Secondary'} handle ${hex(value)} is outside the ` +
        `${half} handle range ${hex(lo)}..${hex(hi)}`,
    );
    this.half = half;
    this.value = value;
  }
}

/** `reserve` of a handle that is already allocated or reserved. */
export class NetClsHandleInUseError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_HANDLE_IN_USE';
  readonly classid: number;

  constructor(classid: number, description: string) {
    super(`net_cls handle ${description} is already in use`);
    this.classid = classid;
  }
}

/** `free` of a handle that is not allocated (a double free, or one never handed out). */
export class NetClsHandleNotAllocatedError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_HANDLE_NOT_ALLOCATED';
  readonly classid: number;

  constructor(classid: number, description: string) {
    super(`Cannot free net_cls handle ${description}: it is not allocated (freed twice?)`);
    this.classid = classid;
  }
}

/**
 * Recovery found two running containers tagged with the same managed classid: their traffic
 * cannot be told apart, so the agent refuses to start rather than pick one.
 */
export class NetClsHandleConflictError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_HANDLE_CONFLICT';
  readonly classid: number;
  readonly containers: readonly [string, string];

  constructor(classid: number, description: string, first: string, second: string) {
    super(
      `Containers '${first}' and '${second}' both hold net_cls handle ${description}; ` +
        `a handle must tag one container only: destroy one of them (or rewrite its ` +
        `net_cls.classid) and start the agent again`,
    );
    this.classid = classid;
    this.containers = [first, second];
  }
}

/** The container's net_cls cgroup exists before `prepare`: it belongs to someone else. */
export class NetClsCgroupExistsError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_CGROUP_EXISTS';
  readonly path: string;

  constructor(containerId: string, path: string) {
    super(
      `Cannot prepare container '${containerId}': its net_cls cgroup '${path}' already exists ` +
        `and is not one this agent created; remove it or use another container id`,
    );
    this.path = path;
  }
}

/** `net_cls.classid` of a recovered container holds something other than a uint32. */
export class NetClsClassidError extends CorralError {
  readonly code = 'CORRAL_NET_CLS_CLASSID_UNREADABLE';
  readonly path: string;

  constructor(path: string, text: string) {
    super(
      `Cannot recover the net_cls handle: '${path}' holds ${JSON.stringify(text)}, ` +
        `expected a decimal classid from 0 to 4294967295`,
    );
    this.path = path;
  }
}
