import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mountTarget } from './mount-target.ts';

let dir: string;
let sandbox: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-mount-target-'));
  sandbox = join(dir, 'sandbox');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('mountTarget', () => {
  it('creates a relative path under the sandbox, the sandbox included', () => {
    const target = mountTarget(sandbox, './data//deep/', 'v');
    expect(target).toBe(join(sandbox, 'data', 'deep'));
    expect(statSync(target).isDirectory()).toBe(true);
  });

  it('refuses a relative path through a symlink, even one pointing inside', () => {
    mkdirSync(sandbox);
    symlinkSync('/etc', join(sandbox, 'out'));
    expect(() => mountTarget(sandbox, 'out/x', 'container.volumes[0]')).toThrow(
      /'container.volumes\[0\].container_path' is invalid: 'out\/x' resolves through a symlink at/,
    );
    writeFileSync(join(sandbox, 'file'), '');
    expect(() => mountTarget(sandbox, 'file/x', 'v')).toThrow(/exists and is not a directory/);
  });

  it('takes an absolute directory that exists, reached without symlinks', () => {
    mkdirSync(join(dir, 'abs'));
    expect(mountTarget(sandbox, `${join(dir, 'abs')}/`, 'v')).toBe(join(dir, 'abs'));
    expect(() => mountTarget(sandbox, join(dir, 'missing'), 'v')).toThrow(
      /does not exist on the host/,
    );
    symlinkSync(join(dir, 'abs'), join(dir, 'link'));
    expect(() => mountTarget(sandbox, join(dir, 'link'), 'v')).toThrow(
      /resolves through a symlink/,
    );
    writeFileSync(join(dir, 'plain'), '');
    expect(() => mountTarget(sandbox, join(dir, 'plain'), 'v')).toThrow(/is not a directory/);
    expect(() => mountTarget(sandbox, '/', 'v')).toThrow(/'\/' cannot be a volume's mount point/);
  });
});
