import { describe, expect, it } from 'vitest';
import { parseRequest } from './server.ts';

describe('parseRequest', () => {
  it('reads attach with the byte offsets the client has', () => {
    expect(
      parseRequest('{"verb":"attach","id":"n1.u.1.0.0","offsets":{"stdout":7,"stderr":0}}'),
    ).toEqual({ verb: 'attach', id: 'n1.u.1.0.0', offsets: { stdout: 7, stderr: 0 } });
  });

  it('refuses attach without valid offsets, naming what it got', () => {
    expect(() =>
      parseRequest('{"verb":"attach","id":"x","offsets":{"stdout":-1,"stderr":0}}'),
    ).toThrow(
      `'offsets' must be {"stdout": N, "stderr": N} with byte counts, got {"stdout":-1,"stderr":0}`,
    );
    expect(() => parseRequest('{"verb":"attach","id":"x"}')).toThrow('got undefined');
  });
});
