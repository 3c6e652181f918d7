import { describe, expect, it } from 'vitest';
import { InvalidIsolationError } from './errors.ts';
import { parseIsolationList } from './isolation-list.ts';

describe('parseIsolationList', () => {
  it('splits on commas and trims whitespace', () => {
    expect(parseIsolationList('cgroups/net_cls, namespaces/ipc ,posix/cpu')).toEqual([
      'cgroups/net_cls',
      'namespaces/ipc',
      'posix/cpu',
    ]);
    expect(parseIsolationList('acme-corp/gpu-v2')).toEqual(['acme-corp/gpu-v2']);
  });

  it.each([
    ['', /--isolation is empty/],
    ['  ', /--isolation is empty/],
    ['posix/cpu,,posix/mem', /empty entry at position 2/],
    ['posix/cpu,', /empty entry at position 2/],
    [',posix/cpu', /empty entry at position 1/],
    ['posix/cpu,posix/mem,posix/cpu', /names 'posix\/cpu' more than once/],
    ['posix', /'posix' is not a valid isolator name: expected 'namespace\/name'/],
    ['Posix/CPU', /'Posix\/CPU' is not a valid isolator name/],
    ['a/b/c', /'a\/b\/c' is not a valid isolator name/],
    ['posix/cpu;rm', /is not a valid isolator name/],
  ])('rejects %j', (raw, message) => {
    expect(() => parseIsolationList(raw)).toThrow(InvalidIsolationError);
    expect(() => parseIsolationList(raw)).toThrow(message);
  });
});
