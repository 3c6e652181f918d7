import { text } from 'node:stream/consumers';
import { expect, it } from 'vitest';
import { jsonStream, mapSliced } from './json-stream.ts';

it('writes what JSON.stringify writes, iterables as arrays', async () => {
  const long = Array.from({ length: 100 }, (_, index) => ({ index, skipped: undefined }));
  const value = {
    empty: {},
    none: [],
    nested: [{ a: [1, 'two', null, undefined, true] }],
    long,
    date: new Date(0),
    skipped: undefined,
    quoted: 'a "b"\n',
  };
  const lazy = {
    *[Symbol.iterator]() {
      yield { x: 1 };
      yield { x: 2 };
    },
  };
  expect(await text(jsonStream(value))).toBe(JSON.stringify(value));
  expect(await text(jsonStream({ lazy, empty: [][Symbol.iterator]() }))).toBe(
    '{"lazy":[{"x":1},{"x":2}],"empty":[]}',
  );
});

it('lets other work run while a large answer is written', async () => {
  const value = Array.from({ length: 20_000 }, (_, index) => ({
    index,
    name: `container-${index}`,
  }));
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const written = await text(jsonStream(value));
  clearInterval(ticker);
  expect(JSON.parse(written)).toEqual(value);
  expect(turns).toBeGreaterThan(0);
});

it('maps in slices, in order', async () => {
  const items = Array.from({ length: 50_000 }, (_, index) => index);
  expect(await mapSliced(items, (item) => item * 2)).toEqual(items.map((item) => item * 2));
});
