import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_ISOLATOR_PACKAGES } from '../isolation/builtin.ts';
import { type AgentConfig, loadConfig } from './load-config.ts';

const modules = new URL('../../test/fixtures/modules.json', import.meta.url).pathname;

async function run(argv: string[], env: Record<string, string> = {}): Promise<AgentConfig> {
  const invocation = await loadConfig(argv, env);
  if (invocation.kind !== 'run')
    throw new Error(`expected a run invocation, got ${invocation.kind}`);
  return invocation.config;
}

describe('agent flags', () => {
  it('has Mesos-like defaults', async () => {
    const config = await run([]);
    expect(config.flags).toMatchObject({
      ip: '127.0.0.1',
      port: 5051,
      isolation: 'posix/cpu,posix/mem',
      cgroups_root: 'corral',
      authenticate_http_readwrite: false,
    });
    expect(config.isolators.map((i) => i.definition.name)).toEqual(['posix/cpu', 'posix/mem']);
    expect(config.flagsView.port).toBe('5051');
  });

  it('takes CORRAL_<NAME> from the environment, with the command line winning', async () => {
    const config = await run(['--port=6000'], { CORRAL_PORT: '7000', CORRAL_IP: '0.0.0.0' });
    expect(config.flags.port).toBe(6000);
    expect(config.flags.ip).toBe('0.0.0.0');
  });

  it('accepts --name, --no-name for booleans', async () => {
    const credentials = join(mkdtempSync(join(tmpdir(), 'corral-cred-')), 'credentials.json');
    writeFileSync(
      credentials,
      JSON.stringify({ credentials: [{ principal: 'ops', secret: 'pw' }] }),
    );
    const config = await run([
      '--authenticate_http_readwrite',
      '--no-authenticate_http_readonly',
      `--http_credentials=${credentials}`,
    ]);
    expect(config.flags.authenticate_http_readwrite).toBe(true);
    expect(config.flags.authenticate_http_readonly).toBe(false);
    expect(config.credentials).toEqual([{ principal: 'ops', secret: 'pw' }]);
    expect(JSON.stringify(config.flagsView)).not.toContain('pw"');
  });

  it.each([
    [
      ['--port=99999'],
      /Invalid value '99999' for flag --port: 99999 is outside 0..65535; accepted: an integer from 0 to 65535/,
    ],
    [['--port'], /Flag --port needs a value/],
    [['--port=1', '--port=2'], /Flag --port is given more than once/],
    [['--bogus=1'], /Unknown flag --bogus/],
    [['stray'], /Unexpected argument 'stray'/],
    [['--launcher=docker'], /accepted: one of linux, posix/],
    [['--isolation=posix/cpu,posix/cpu'], /names 'posix\/cpu' more than once/],
    [
      ['--isolation=posix/gpu'],
      new RegExp(
        `Unknown isolator 'posix/gpu' in --isolation: known isolators are ${[...BUILTIN_ISOLATOR_PACKAGES.keys()].sort().join(', ')}`,
      ),
    ],
    [['--authenticate_http_readwrite'], /--authenticate_http_readwrite needs --http_credentials/],
    [
      ['--http_credentials=/nonexistent/creds.json'],
      /Cannot read --http_credentials file '\/nonexistent\/creds.json'/,
    ],
  ])('refuses %j with one clear line', async (argv, message) => {
    await expect(loadConfig(argv, {})).rejects.toThrow(message);
  });

  it('prints --help with every flag, defaults and env names, and --version', async () => {
    const help = await loadConfig(['--help', `--modules=${modules}`], {});
    expect(help.kind).toBe('help');
    const text = help.kind === 'help' ? help.text : '';
    expect(text).toContain('--port=<integer>');
    expect(text).toContain('(default: 5051)');
    expect(text).toContain('env CORRAL_PORT');
    expect(text).toContain('Isolator posix/cpu (@corral/isolator-posix)');
    expect(text).toContain('--acme_flag_level=<integer>');
    // The launch-field table covers the isolators this agent can load, third-party ones too.
    expect(text).toContain('| `command.value` | the command to run | the engine |');
    expect(text).toMatch(
      /\| `container.network_infos` \| [^|]+ \| `acme\/networks`, `network\/cni` \|/,
    );
    expect((await loadConfig(['--version'], {})).kind).toBe('version');
  });
});

describe('isolator loading through --modules', () => {
  it('loads a mapped package and validates its own flags', async () => {
    const config = await run([
      `--modules=${modules}`,
      '--isolation=acme/flagged,posix/cpu',
      '--acme_flag_level=7',
    ]);
    expect(config.isolators.map((i) => i.definition.name)).toEqual(['acme/flagged', 'posix/cpu']);
    expect(config.isolators[0]?.flags).toEqual({ acme_flag_level: 7 });
    expect(config.flagsView.acme_flag_level).toBe('7');
    await expect(
      loadConfig([`--modules=${modules}`, '--isolation=acme/flagged', '--acme_flag_level=0'], {}),
    ).rejects.toThrow(
      "Invalid value '0' for flag --acme_flag_level: '0' is not a digit from 1 to 9; accepted: an integer from 1 to 9",
    );
  });

  it('refuses a flag of a known isolator that is not enabled', async () => {
    await expect(loadConfig([`--modules=${modules}`, '--acme_flag_level=3'], {})).rejects.toThrow(
      "Flag --acme_flag_level belongs to isolator 'acme/flagged', which is not enabled in --isolation",
    );
  });

  it.each([
    [
      'acme/wrong-api',
      /was built for isolator API "corral.isolator\/v0", but this agent supports 'corral.isolator\/v1'/,
    ],
    ['acme/no-default', /invalid manifest: the package has no default export/],
    [
      'acme/throws',
      /Isolator 'acme\/throws': importing package .* failed: this isolator cannot load on this host/,
    ],
    [
      'acme/mislabelled',
      /does not provide isolator 'acme\/mislabelled' \(it provides: acme\/other\)/,
    ],
    ['acme/missing', /Isolator 'acme\/missing': package '.*does-not-exist' not found/],
  ])('refuses %s clearly', async (name, message) => {
    await expect(loadConfig([`--modules=${modules}`, `--isolation=${name}`], {})).rejects.toThrow(
      message,
    );
  });

  it('lists mapped names among the known ones', async () => {
    await expect(loadConfig([`--modules=${modules}`, '--isolation=acme/nope'], {})).rejects.toThrow(
      /known isolators are acme\/flagged, .*posix\/cpu, posix\/mem/,
    );
  });

  it('refuses an unreadable or malformed --modules file', async () => {
    await expect(loadConfig(['--modules=/nonexistent.json'], {})).rejects.toThrow(
      /Cannot read --modules file/,
    );
    const bad = join(mkdtempSync(join(tmpdir(), 'corral-mod-')), 'modules.json');
    writeFileSync(bad, JSON.stringify({ isolators: { 'no-slash': 'x' } }));
    await expect(loadConfig([`--modules=${bad}`], {})).rejects.toThrow(
      /'no-slash' is not a 'namespace\/name'/,
    );
  });
});

describe('command-line conventions', () => {
  it('ignores a bare -- (as pnpm passes it through)', async () => {
    expect((await run(['--', '--port=6001'])).flags.port).toBe(6001);
  });
});

describe('isolator packages installed in --modules_dir', () => {
  function installed(packages: Record<string, { isolators: string[]; body: string }>): string {
    const dir = mkdtempSync(join(tmpdir(), 'corral-modules-dir-'));
    for (const [name, { isolators, body }] of Object.entries(packages)) {
      const packageDir = join(dir, 'node_modules', name);
      mkdirSync(packageDir, { recursive: true });
      writeFileSync(
        join(packageDir, 'package.json'),
        JSON.stringify({
          name,
          version: '1.0.0',
          type: 'module',
          exports: { '.': { default: './index.js' } },
          corral: { isolators },
        }),
      );
      writeFileSync(join(packageDir, 'index.js'), body);
    }
    mkdirSync(join(dir, 'node_modules', 'unrelated'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'unrelated', 'package.json'), '{"name":"unrelated"}');
    return dir;
  }
  const manifestFor = (name: string) =>
    `export default { apiVersion: 'corral.isolator/v1', isolators: [{ name: '${name}', description: 'd', create: () => ({}) }] };`;

  it('finds scoped and plain packages that declare corral.isolators', async () => {
    const dir = installed({
      '@acme/corral-quota': { isolators: ['acme/quota'], body: manifestFor('acme/quota') },
      'corral-gpu': { isolators: ['acme/gpu'], body: manifestFor('acme/gpu') },
    });
    const config = await run([`--modules_dir=${dir}`, '--isolation=acme/quota,acme/gpu,posix/cpu']);
    expect(config.isolators.map((i) => [i.definition.name, i.source.specifier])).toEqual([
      ['acme/quota', join(dir, 'node_modules', '@acme', 'corral-quota')],
      ['acme/gpu', join(dir, 'node_modules', 'corral-gpu')],
      ['posix/cpu', '@corral/isolator-posix'],
    ]);
  });

  it('refuses a name declared by two installed packages', async () => {
    const dir = installed({
      'corral-a': { isolators: ['acme/same'], body: manifestFor('acme/same') },
      'corral-b': { isolators: ['acme/same'], body: manifestFor('acme/same') },
    });
    await expect(loadConfig([`--modules_dir=${dir}`, '--isolation=acme/same'], {})).rejects.toThrow(
      /Isolator 'acme\/same' is declared by two packages in --modules_dir/,
    );
  });

  it('lists discovered names among the known ones and never looks in the current directory', async () => {
    const dir = installed({
      'corral-gpu': { isolators: ['acme/gpu'], body: manifestFor('acme/gpu') },
    });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await expect(loadConfig(['--isolation=acme/gpu'], {})).rejects.toThrow(
        /Unknown isolator 'acme\/gpu'/,
      );
    } finally {
      process.chdir(cwd);
    }
    await expect(loadConfig([`--modules_dir=${dir}`, '--isolation=acme/nope'], {})).rejects.toThrow(
      /known isolators are acme\/gpu, cgroups\/cpu, cgroups\/mem, cgroups\/net_cls/,
    );
  });
});
