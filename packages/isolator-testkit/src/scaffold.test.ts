import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultPackageName, ScaffoldError, scaffoldFiles, writeScaffold } from './scaffold.ts';
import { main, scaffoldVersions } from './scaffold-cli.ts';

const versions = {
  core: '^1.2.3',
  testkit: '^4.5.6',
  vitest: '5.1.1',
  typescript: '^7.0.2',
  typesNode: '^24.0.0',
};

describe('scaffoldFiles', () => {
  const files = scaffoldFiles({ isolator: 'acme/disk_quota', versions });

  it('makes a package the agent can discover and that peer-depends on @corral/core', () => {
    const pkg = JSON.parse(files['package.json'] ?? '');
    expect(pkg).toMatchObject({
      name: 'corral-isolator-acme-disk-quota',
      type: 'module',
      corral: { isolators: ['acme/disk_quota'] },
      exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
      files: ['dist'],
      peerDependencies: { '@corral/core': '^1.2.3' },
      devDependencies: {
        '@corral/core': '^1.2.3',
        '@corral/isolator-testkit': '^4.5.6',
        vitest: '5.1.1',
        typescript: '^7.0.2',
      },
    });
  });

  it('writes a manifest, an isolator, a README and a conformance test', () => {
    expect(Object.keys(files).sort()).toEqual([
      '.gitignore',
      'README.md',
      'package.json',
      'src/index.ts',
      'src/isolator.ts',
      'test/conformance.test.ts',
      'tsconfig.build.json',
      'tsconfig.json',
    ]);
    expect(files['src/index.ts']).toContain("name: 'acme/disk_quota'");
    expect(files['src/index.ts']).toContain('acme_disk_quota_max: flag.integer(');
    expect(files['src/index.ts']).toContain('export default defineManifest(acmeDiskQuota);');
    expect(files['src/isolator.ts']).toContain('export function createAcmeDiskQuotaIsolator(');
    expect(files['src/isolator.ts']).toContain("name: 'ACME_DISK_QUOTA_LIMIT'");
    expect(files['test/conformance.test.ts']).toContain('describeIsolatorConformance(manifest, {');
    expect(files['README.md']).toContain('--isolation=acme/disk_quota');
  });

  it('takes a scoped package name', () => {
    const scoped = scaffoldFiles({ isolator: 'acme/quota', packageName: '@acme/quota', versions });
    expect(JSON.parse(scoped['package.json'] ?? '').name).toBe('@acme/quota');
  });

  it.each([
    [{ isolator: 'quota' }, /'quota' is not an isolator name: expected 'namespace\/name'/],
    [{ isolator: 'Acme/Quota' }, /'Acme\/Quota' is not an isolator name/],
    [{ isolator: 'acme/quota', packageName: 'Acme Quota' }, /'Acme Quota' is not an npm package/],
  ])('refuses %o', (options, message) => {
    expect(() => scaffoldFiles({ ...options, versions })).toThrow(ScaffoldError);
    expect(() => scaffoldFiles({ ...options, versions })).toThrow(message);
  });

  it('names packages after the isolator', () => {
    expect(defaultPackageName('acme/quota')).toBe('corral-isolator-acme-quota');
  });
});

describe('the command', () => {
  let dir: string;
  const lines: { out: string[]; err: string[] } = { out: [], err: [] };
  const io = () => ({
    cwd: dir,
    out: (line: string) => lines.out.push(line),
    err: (line: string) => lines.err.push(line),
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'corral-scaffold-unit-'));
    lines.out = [];
    lines.err = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the package in a directory relative to where it was called', () => {
    expect(main(['acme/quota', 'pkgs/quota', '--package-name', '@acme/quota'], io())).toBe(0);
    const pkg = JSON.parse(readFileSync(join(dir, 'pkgs/quota/package.json'), 'utf8'));
    expect(pkg.name).toBe('@acme/quota');
    expect(existsSync(join(dir, 'pkgs/quota/test/conformance.test.ts'))).toBe(true);
    expect(lines.out.join('\n')).toContain('Created @acme/quota (isolator acme/quota)');
  });

  it('accepts the bare -- a package manager passes through', () => {
    expect(main(['--', 'acme/quota', 'quota'], io())).toBe(0);
    expect(existsSync(join(dir, 'quota/package.json'))).toBe(true);
  });

  it('refuses a directory that is not empty, and writes nothing', () => {
    mkdirSync(join(dir, 'taken'));
    writeFileSync(join(dir, 'taken', 'keep'), '');
    expect(main(['acme/quota', 'taken'], io())).toBe(1);
    expect(lines.err).toEqual([
      `'${join(dir, 'taken')}' is not empty: choose a new directory for the package`,
    ]);
    expect(existsSync(join(dir, 'taken', 'package.json'))).toBe(false);
  });

  it('shows the usage for missing arguments and unknown options', () => {
    expect(main(['acme/quota'], io())).toBe(2);
    expect(main(['acme/quota', 'x', '--frobnicate'], io())).toBe(2);
    expect(lines.err.join('\n')).toContain("Unknown option '--frobnicate'");
    expect(lines.err.join('\n')).toContain(
      'Usage: create-corral-isolator <namespace/name> <directory>',
    );
    expect(main(['--help'], io())).toBe(0);
  });

  it('refuses a bad isolator name', () => {
    expect(main(['quota', 'x'], io())).toBe(1);
    expect(lines.err[0]).toMatch(/'quota' is not an isolator name/);
  });
});

describe('scaffoldVersions', () => {
  it('asks for this testkit and the installed @corral/core, never a workspace: range', () => {
    const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const versions = scaffoldVersions();
    expect(versions.testkit).toBe(`^${own.version}`);
    expect(versions.core).toMatch(/^\^\d+\.\d+\.\d+/);
    expect(versions.vitest).toBe(own.peerDependencies.vitest);
  });
});

describe('writeScaffold', () => {
  it('refuses to write over files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-scaffold-unit-'));
    try {
      writeFileSync(join(dir, 'x'), '');
      expect(() => writeScaffold(dir, { y: '' })).toThrow(/is not empty/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
