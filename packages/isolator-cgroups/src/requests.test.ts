import type { ContainerConfig } from '@corral/core';
import { InvalidContainerConfigError } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { requestAndLimit } from './requests.ts';

const RULE = { name: 'mem', defaultRequest: 32, minLimit: { value: 32, unit: 'MB' } };

function config(request?: unknown, limit?: unknown): ContainerConfig {
  return {
    command_info: { value: 'true' },
    directory: '/tmp',
    runtime_directory: '/tmp',
    ...(request === undefined
      ? {}
      : { resources: [{ name: 'mem', type: 'SCALAR', scalar: { value: request as number } }] }),
    ...(limit === undefined ? {} : { limits: { mem: { value: limit as number } } }),
  };
}

describe('requestAndLimit', () => {
  it('takes the request and limit, or the default request and no limit', () => {
    expect(requestAndLimit(config(64, 128), RULE)).toEqual({ request: 64, limit: 128 });
    expect(requestAndLimit(config(), RULE)).toEqual({ request: 32 });
    expect(requestAndLimit(config(64, Number.POSITIVE_INFINITY), RULE)).toEqual({
      request: 64,
      limit: Number.POSITIVE_INFINITY,
    });
    // A checkpointed "infinity" reads back as JSON's null.
    expect(requestAndLimit(config(64, null), RULE).limit).toBe(Number.POSITIVE_INFINITY);
  });

  it.each([
    [config(-1), 'resources[name=mem]', /-1 is not a valid value; accepted: a finite number >= 0$/],
    [config(Number.NaN), 'resources[name=mem]', /null is not a valid value/],
    [config(64, 48), 'limits.mem', /48 is below the request 64 \(resources\[name=mem\]\)/],
    [config(16, 16), 'limits.mem', /16 is below the smallest limit 32 MB/],
    [config(64, -5), 'limits.mem', /accepted: a finite number >= 0 or "infinity"$/],
  ])('refuses %j, naming %s', (bad, field, message) => {
    const error = (() => {
      try {
        requestAndLimit(bad, RULE);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidContainerConfigError);
    expect((error as InvalidContainerConfigError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });
});
