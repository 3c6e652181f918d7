import { describe, expect, it } from 'vitest';
import { CNI_NAME, cniContainerId, defaultHostname } from './ids.ts';

describe('CNI-safe ids', () => {
  it('keeps ids CNI accepts and maps the others to a stable safe one', () => {
    expect(cniContainerId({ value: 'web-1' })).toBe('web-1');
    const mapped = cniContainerId({ value: 'job:42@node' });
    expect(mapped).toMatch(/^corral-[0-9a-f]{32}$/);
    expect(CNI_NAME.test(mapped)).toBe(true);
    expect(cniContainerId({ value: 'job:42@node' })).toBe(mapped);
    expect(cniContainerId({ value: 'job:43@node' })).not.toBe(mapped);
  });

  it('derives a hostname of at most 64 characters', () => {
    expect(defaultHostname({ value: 'web-1' })).toBe('web-1');
    const long = defaultHostname({ value: `${'a'.repeat(200)}:x` });
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^a+-[0-9a-f]{8}$/);
    expect(defaultHostname({ value: '__x__' })).toMatch(/^x-[0-9a-f]{8}$/);
  });
});
