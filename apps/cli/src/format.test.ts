import { describe, expect, it } from 'vitest';
import {
  decodeWaitStatus,
  exitCodeOf,
  formatBytes,
  formatClassid,
  formatDuration,
  formatTable,
  parseSignal,
  signalName,
} from './format.ts';

describe('formatClassid', () => {
  it('writes the decimal uint32 as 0xAAAABBBB', () => {
    expect(formatClassid(1638401)).toBe('0x00190001');
    expect(formatClassid(0xffffffff)).toBe('0xffffffff');
    expect(formatClassid(0x10)).toBe('0x00000010');
  });
});

describe('formatBytes', () => {
  it('uses binary units with up to three significant figures', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(3.14 * 1024 * 1024)).toBe('3.1 MiB');
    expect(formatBytes(120 * 1024 * 1024)).toBe('120 MiB');
    expect(formatBytes(5 * 1024 ** 4)).toBe('5.0 TiB');
  });
});

describe('formatDuration', () => {
  it('shows the two largest units', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59.9)).toBe('59s');
    expect(formatDuration(187)).toBe('3m07s');
    expect(formatDuration(2 * 3600 + 5 * 60 + 9)).toBe('2h05m');
    expect(formatDuration(4 * 86_400 + 3 * 3600)).toBe('4d03h');
    expect(formatDuration(-5)).toBe('0s');
  });
});

describe('formatTable', () => {
  it('aligns columns two spaces apart, numbers to the right, without trailing spaces', () => {
    const text = formatTable(
      [{ header: 'ID' }, { header: 'PID', align: 'right' }, { header: 'NOTE' }],
      [
        ['a', '7', 'x'],
        ['longer-id', '12345', ''],
      ],
    );
    expect(text).toBe(
      ['ID           PID  NOTE', 'a              7  x', 'longer-id  12345', ''].join('\n'),
    );
  });

  it('prints the header alone when there are no rows', () => {
    expect(formatTable([{ header: 'ID' }, { header: 'STATE' }], [])).toBe('ID  STATE\n');
  });
});

describe('signals', () => {
  it('parses names with or without SIG, in any case, and numbers 1-64', () => {
    expect(parseSignal('TERM')).toBe(15);
    expect(parseSignal('sigkill')).toBe(9);
    expect(parseSignal('SIGUSR1')).toBe(10);
    expect(parseSignal('9')).toBe(9);
    expect(parseSignal('64')).toBe(64);
    for (const bad of ['0', '65', 'NOPE', '', '-9', '1.5'])
      expect(parseSignal(bad)).toBeUndefined();
  });

  it('names signals, and numbers without a name', () => {
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(15)).toBe('SIGTERM');
    expect(signalName(40)).toBe('signal 40');
  });
});

describe('wait status', () => {
  it('decodes exit codes (N×256) and signals (S) as a shell reports them', () => {
    expect(decodeWaitStatus(0)).toEqual({ kind: 'exited', code: 0 });
    expect(decodeWaitStatus(3 * 256)).toEqual({ kind: 'exited', code: 3 });
    expect(decodeWaitStatus(9)).toEqual({ kind: 'signaled', signal: 9 });
    expect(exitCodeOf(decodeWaitStatus(3 * 256))).toBe(3);
    expect(exitCodeOf(decodeWaitStatus(255 * 256))).toBe(255);
    expect(exitCodeOf(decodeWaitStatus(9))).toBe(137);
    expect(exitCodeOf(decodeWaitStatus(15))).toBe(143);
    // A core dump sets bit 7; the signal is still the low seven bits.
    expect(exitCodeOf(decodeWaitStatus(0x80 | 11))).toBe(139);
  });
});
