import { constants } from 'node:os';

/** `0xAAAABBBB`, the way net_cls handles are written (primary:secondary). */
export function formatClassid(classid: number): string {
  return `0x${classid.toString(16).padStart(8, '0')}`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `512 B`, `3.1 MiB`, `120 MiB`: three significant figures at most. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `42s`, `3m07s`, `2h05m`, `4d03h`: the two largest units. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** A table aligned for a terminal: columns two spaces apart, no trailing spaces. */
export function formatTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): string {
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        const width = widths[index] ?? 0;
        return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((column) => column.header)), ...rows.map(line)].join('\n')}\n`;
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = constants.signals;

/** `SIGTERM` for 15; `signal 40` for numbers without a name. */
export function signalName(signal: number): string {
  const name = Object.entries(SIGNAL_NUMBERS).find(([, number]) => number === signal)?.[0];
  return name ?? `signal ${signal}`;
}

/** A signal as `TERM`, `SIGTERM`, `term` or a number from 1 to 64; undefined if none of those. */
export function parseSignal(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    return number >= 1 && number <= 64 ? number : undefined;
  }
  const upper = text.toUpperCase();
  return SIGNAL_NUMBERS[upper.startsWith('SIG') ? upper : `SIG${upper}`];
}

/** How a raw wait(2) status ended: an exit code or a signal. */
export type Ending =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signaled'; readonly signal: number };

export function decodeWaitStatus(status: number): Ending {
  const signal = status & 0x7f;
  return signal === 0
    ? { kind: 'exited', code: (status >> 8) & 0xff }
    : { kind: 'signaled', signal };
}

/** The shell's convention: the exit code, or 128 + the signal. */
export function exitCodeOf(ending: Ending): number {
  return ending.kind === 'exited' ? ending.code : 128 + ending.signal;
}
