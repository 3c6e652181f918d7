import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Longest stretch a large answer keeps the event loop. `JSON.stringify` of `/state` with 10,000
 * containers (~10 MB) takes ~100 ms at once, which every other request, `/health` included, waited
 * for.
 */
export const SLICE_MS = 5;
/** Bytes gathered before they are handed to the socket. */
const CHUNK_CHARS = 64 * 1024;
/** Arrays at least this long are written one element at a time, with turns in between. */
const LONG_ARRAY = 64;

/** Maps `items`, giving the event loop a turn whenever a stretch has taken `SLICE_MS`. */
export async function mapSliced<T, R>(items: Iterable<T>, each: (item: T) => R): Promise<R[]> {
  const results: R[] = [];
  let sliceStart = performance.now();
  for (const item of items) {
    results.push(each(item));
    if (performance.now() - sliceStart > SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return results;
}

/**
 * `value` as JSON text in fragments: objects and short arrays member by member, each element of a
 * long array (or of any other iterable, written as an array) whole.
 */
function* fragments(value: unknown): Generator<string> {
  if (value === null || typeof value !== 'object' || 'toJSON' in value) {
    yield JSON.stringify(value) ?? 'null';
  } else if (Symbol.iterator in value) {
    const whole = !Array.isArray(value) || value.length >= LONG_ARRAY;
    let separator = '[';
    for (const element of value as Iterable<unknown>) {
      yield separator;
      separator = ',';
      if (whole) yield JSON.stringify(element) ?? 'null';
      else yield* fragments(element);
    }
    yield separator === '[' ? '[]' : ']';
  } else {
    let separator = '{';
    for (const [key, member] of Object.entries(value)) {
      // Skipped as JSON.stringify skips them.
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol')
        continue;
      yield `${separator}${JSON.stringify(key)}:`;
      separator = ',';
      yield* fragments(member);
    }
    yield separator === '{' ? '{}' : '}';
  }
}

async function* chunks(value: unknown): AsyncGenerator<string> {
  let chunk = '';
  let sliceStart = performance.now();
  for (const fragment of fragments(value)) {
    chunk += fragment;
    const due = performance.now() - sliceStart > SLICE_MS;
    if (chunk.length >= CHUNK_CHARS || due) {
      yield chunk;
      chunk = '';
    }
    if (due) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  if (chunk !== '') yield chunk;
}

/**
 * `value` serialized as `JSON.stringify` would (iterables other than arrays become arrays), as a
 * stream written in slices of at most `SLICE_MS`, so other requests are served in between.
 */
export function jsonStream(value: unknown): Readable {
  return Readable.from(chunks(value), { objectMode: false });
}
