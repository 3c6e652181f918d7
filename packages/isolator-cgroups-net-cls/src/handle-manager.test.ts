import { ResourceExhaustedError } from '@corral/core';
import { describe, expect, it } from 'vitest';
import {
  NetClsHandleInUseError,
  NetClsHandleNotAllocatedError,
  NetClsHandleOutOfRangeError,
} from './errors.ts';
import {
  classidOf,
  describeHandle,
  handleOf,
  MAX_HANDLE,
  type NetClsHandle,
  NetClsHandleManager,
} from './handle-manager.ts';

const primaries = { lo: 0x2, hi: 0x3 };

function allocAll(manager: NetClsHandleManager, primary?: number): number[] {
  const taken: number[] = [];
  for (;;) {
    try {
      taken.push(manager.alloc(primary).secondary);
    } catch (error) {
      if (error instanceof ResourceExhaustedError) return taken;
      throw error;
    }
  }
}

// mesos-notes §7.1: NetClsHandleManagerTest, one `it` per Mesos test.
describe('NetClsHandleManager (Mesos NetClsHandleManagerTest)', () => {
  it('AllocateFreeHandles: alloc under a primary marks it used, free unmarks it', () => {
    const manager = new NetClsHandleManager({ primaries });
    const handle = manager.alloc(0x3);
    expect(handle.primary).toBe(0x3);
    expect(manager.isUsed(handle)).toBe(true);
    manager.free(handle);
    expect(manager.isUsed(handle)).toBe(false);
  });

  it('AllocateInvalidPrimary: alloc under a primary outside the range fails', () => {
    const manager = new NetClsHandleManager({ primaries });
    expect(() => manager.alloc(0x1)).toThrow(NetClsHandleOutOfRangeError);
    expect(() => manager.alloc(0x1)).toThrow(
      'Primary handle 0x1 is outside the primary handle range 0x2..0x3',
    );
  });

  it('ReserveHandles: 0xffff is inside the default secondary range', () => {
    const manager = new NetClsHandleManager({ primaries });
    const handle = { primary: 0x3, secondary: 0xffff };
    manager.reserve(handle);
    expect(manager.isUsed(handle)).toBe(true);
  });

  it('SecondaryHandleRange: exhaustion, free then reserve, reserve outside the range', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 0xffff, hi: 0xffff } });
    const handle = manager.alloc(0x3);
    expect(handle).toEqual({ primary: 0x3, secondary: 0xffff });
    expect(manager.isUsed(handle)).toBe(true);

    expect(() => manager.alloc(0x3)).toThrow(ResourceExhaustedError);
    expect(() => manager.alloc(0x3)).toThrow(
      'No free net_cls handles remain for primary handle 0x3: all 1 secondary handles 0xffff..0xffff are in use',
    );

    manager.free(handle);
    expect(manager.isUsed(handle)).toBe(false);
    manager.reserve(handle);
    expect(manager.isUsed(handle)).toBe(true);

    expect(() => manager.reserve({ primary: 0x3, secondary: 0x1 })).toThrow(
      'Secondary handle 0x1 is outside the secondary handle range 0xffff..0xffff',
    );
  });
});

describe('NetClsHandleManager allocation order', () => {
  it('starts with the lowest secondary (Mesos ContainerStatus expects 0x11 of 0x11..0x12)', () => {
    const manager = new NetClsHandleManager({
      primaries: { lo: 0x12, hi: 0x12 },
      secondaries: { lo: 0x11, hi: 0x12 },
    });
    expect(manager.alloc()).toEqual({ primary: 0x12, secondary: 0x11 });
    expect(manager.alloc()).toEqual({ primary: 0x12, secondary: 0x12 });
  });

  it('next-fit: a just-freed handle is not reused while other free handles exist', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 5 } });
    const [one, two, three] = [manager.alloc(), manager.alloc(), manager.alloc()];
    expect([one?.secondary, two?.secondary, three?.secondary]).toEqual([1, 2, 3]);
    manager.free(two as NetClsHandle);
    expect(manager.alloc().secondary).toBe(4);
    expect(manager.alloc().secondary).toBe(5);
    // Wrap-around: only now does the freed handle come back.
    expect(manager.alloc().secondary).toBe(2);
  });

  it('wraps around to freed handles oldest-freed first, even behind a later free', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 4 } });
    expect(allocAll(manager)).toEqual([1, 2, 3, 4]);
    manager.free({ primary: 0x2, secondary: 3 });
    manager.free({ primary: 0x2, secondary: 1 });
    manager.free({ primary: 0x2, secondary: 2 });
    expect(allocAll(manager)).toEqual([3, 1, 2]);
  });

  it('a handle freed while others are free goes behind all of them', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 3 } });
    const first = manager.alloc();
    manager.free(first);
    expect(allocAll(manager)).toEqual([2, 3, 1]);
  });

  it('with a single free handle, that handle is handed out again', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 3 } });
    allocAll(manager);
    manager.free({ primary: 0x2, secondary: 2 });
    expect(manager.alloc().secondary).toBe(2);
  });

  it('skips reserved handles and keeps their order for the rest', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 5 } });
    manager.reserve({ primary: 0x2, secondary: 1 });
    manager.reserve({ primary: 0x2, secondary: 4 });
    expect(allocAll(manager)).toEqual([2, 3, 5]);
  });

  it('keeps the primaries apart', () => {
    const manager = new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 2 } });
    expect(allocAll(manager, 0x2)).toEqual([1, 2]);
    expect(manager.alloc(0x3)).toEqual({ primary: 0x3, secondary: 1 });
    expect(manager.count(0x2)).toEqual({ inUse: 2, free: 0 });
    expect(manager.count(0x3)).toEqual({ inUse: 1, free: 1 });
  });

  it('hands out all 65535 default secondaries, then every one again after freeing', () => {
    const manager = new NetClsHandleManager({ primaries: { lo: 0x19, hi: 0x19 } });
    const first = allocAll(manager);
    expect(first).toHaveLength(MAX_HANDLE);
    expect(first[0]).toBe(1);
    expect(first.at(-1)).toBe(MAX_HANDLE);
    expect(manager.count()).toEqual({ inUse: MAX_HANDLE, free: 0 });
    for (const secondary of first) manager.free({ primary: 0x19, secondary });
    expect(manager.count()).toEqual({ inUse: 0, free: MAX_HANDLE });
    expect(allocAll(manager)).toEqual(first);
  });
});

describe('NetClsHandleManager errors', () => {
  const manager = () => new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 3 } });

  it('refuses a double free, naming the handle', () => {
    const m = manager();
    const handle = m.alloc();
    m.free(handle);
    expect(() => m.free(handle)).toThrow(NetClsHandleNotAllocatedError);
    expect(() => m.free(handle)).toThrow(
      'Cannot free net_cls handle 0x00020001 (primary 0x2, secondary 0x1): it is not allocated',
    );
  });

  it('refuses to free a handle of a primary never used', () => {
    expect(() => manager().free({ primary: 0x3, secondary: 1 })).toThrow(
      NetClsHandleNotAllocatedError,
    );
  });

  it('refuses to reserve a handle in use', () => {
    const m = manager();
    const handle = m.alloc();
    const error = (() => {
      try {
        m.reserve(handle);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(NetClsHandleInUseError);
    expect(error).toMatchObject({
      code: 'CORRAL_NET_CLS_HANDLE_IN_USE',
      classid: 0x20001,
      message: 'net_cls handle 0x00020001 (primary 0x2, secondary 0x1) is already in use',
    });
  });

  it.each([
    ['alloc', (m: NetClsHandleManager) => m.alloc(0x4)],
    ['reserve', (m: NetClsHandleManager) => m.reserve({ primary: 0x1, secondary: 1 })],
    ['free', (m: NetClsHandleManager) => m.free({ primary: 0x4, secondary: 1 })],
    ['isUsed', (m: NetClsHandleManager) => m.isUsed({ primary: 0x4, secondary: 1 })],
    ['count', (m: NetClsHandleManager) => m.count(0x4)],
  ])('%s refuses a primary outside the range', (_name, call) => {
    expect(() => call(manager())).toThrow(NetClsHandleOutOfRangeError);
  });

  it.each([
    ['reserve', (m: NetClsHandleManager) => m.reserve({ primary: 0x2, secondary: 4 })],
    ['free', (m: NetClsHandleManager) => m.free({ primary: 0x2, secondary: 0 })],
    ['isUsed', (m: NetClsHandleManager) => m.isUsed({ primary: 0x2, secondary: 4 })],
  ])('%s refuses a secondary outside the range', (_name, call) => {
    expect(() => call(manager())).toThrow(
      /Secondary handle 0x[04] is outside the secondary handle range 0x1\.\.0x3/,
    );
  });

  it('reports an untouched primary as unused, and all its handles free', () => {
    expect(manager().isUsed({ primary: 0x3, secondary: 2 })).toBe(false);
    expect(manager().count(0x3)).toEqual({ inUse: 0, free: 3 });
  });

  it('refuses invalid ranges at construction', () => {
    expect(() => new NetClsHandleManager({ primaries: { lo: 3, hi: 2 } })).toThrow(RangeError);
    expect(() => new NetClsHandleManager({ primaries, secondaries: { lo: 0, hi: 3 } })).toThrow(
      /secondary handle range 0..3 is invalid/,
    );
    expect(
      () => new NetClsHandleManager({ primaries, secondaries: { lo: 1, hi: 0x10000 } }),
    ).toThrow(RangeError);
  });
});

describe('classids', () => {
  it('combine primary and secondary as an unsigned 32-bit number', () => {
    expect(classidOf({ primary: 0x19, secondary: 0x1 })).toBe(0x190001);
    expect(classidOf({ primary: 0xffff, secondary: 0xffff })).toBe(4294967295);
    expect(classidOf({ primary: 0x8000, secondary: 0 })).toBe(0x80000000);
  });

  it('split back into the same handle', () => {
    expect(handleOf(4294967295)).toEqual({ primary: 0xffff, secondary: 0xffff });
    expect(handleOf(0x120011)).toEqual({ primary: 0x12, secondary: 0x11 });
  });

  it('print as the classid and its halves (Mesos: 0x12/0x11 is 0x120011, 1179665)', () => {
    expect(classidOf({ primary: 0x12, secondary: 0x11 })).toBe(1179665);
    expect(describeHandle({ primary: 0x12, secondary: 0x11 })).toBe(
      '0x00120011 (primary 0x12, secondary 0x11)',
    );
  });
});
