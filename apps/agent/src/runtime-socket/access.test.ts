import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallerPolicy } from './access.ts';
import { RuntimeCallerRefusedError } from './errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const files = { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
writeFileSync(
  files.passwd,
  'root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n',
);
writeFileSync(files.group, 'alice:x:1000:\nbob:x:1001:\nhpc:x:2000:bob\n');
const caller = (uid: number) => ({ pid: 1, uid, gid: uid });

describe('CallerPolicy', () => {
  it('admits root only by default', () => {
    const policy = new CallerPolicy('', files);
    expect(() => policy.check(caller(0))).not.toThrow();
    expect(() => policy.check(caller(1000))).toThrow(
      "user 'alice' (uid 1000) may not use this runtime socket: it admits root only",
    );
  });

  it('admits listed users and members of listed groups', () => {
    const policy = new CallerPolicy('alice,@hpc', files);
    expect(() => policy.check(caller(1000))).not.toThrow();
    expect(() => policy.check(caller(1001))).not.toThrow();
    expect(() => policy.check(caller(1234))).toThrow(RuntimeCallerRefusedError);
  });

  it('admits everyone with *', () => {
    expect(() => new CallerPolicy('*', files).check(caller(1234))).not.toThrow();
  });
});
