import { describe, expect, expectTypeOf, it } from 'vitest';
import { silentLogger } from './context.ts';
import { InvalidManifestError, UnsupportedApiVersionError } from './errors.ts';
import { flag } from './flags.ts';
import {
  defineIsolator,
  defineManifest,
  findIsolatorDefinition,
  ISOLATOR_API_VERSION,
  validateManifest,
} from './manifest.ts';

const example = defineIsolator({
  name: 'acme/quota',
  description: 'Example isolator',
  flags: {
    acme_quota_limit: flag.integer({ help: 'limit', min: 1, max: 100, default: 10 }),
    acme_quota_label: flag.string({ help: 'label' }),
  },
  requires: { linux: true, namespaces: ['ipc'] },
  honours: ['container.rlimit_info', 'resources[name=acme_quota]'],
  create(flags) {
    expectTypeOf(flags.acme_quota_limit).toEqualTypeOf<number>();
    expectTypeOf(flags.acme_quota_label).toEqualTypeOf<string | undefined>();
    return {};
  },
});

const context = {
  name: 'acme/quota',
  logger: silentLogger,
  runtimeDir: '/tmp/x',
  cgroups: { hierarchy: '/sys/fs/cgroup', root: 'corral' },
  agent: { workDir: '/tmp/w', runtimeDir: '/tmp/r' },
};

describe('defineManifest', () => {
  it('stamps the API version and passes validation', async () => {
    const manifest = defineManifest(example);
    expect(manifest.apiVersion).toBe(ISOLATOR_API_VERSION);
    expect(validateManifest(manifest, 'acme-quota')).toBe(manifest);
    const definition = findIsolatorDefinition(manifest, 'acme/quota', 'acme-quota');
    expect(
      await definition.create({ acme_quota_limit: 5, acme_quota_label: undefined }, context),
    ).toEqual({});
  });
});

describe('validateManifest', () => {
  const valid = () => ({ apiVersion: ISOLATOR_API_VERSION, isolators: [{ ...example }] });

  it('refuses a missing default export', () => {
    expect(() => validateManifest(undefined, 'pkg')).toThrow(
      "Isolator package 'pkg' has an invalid manifest: the package has no default export",
    );
  });

  it('refuses another API version with expected and actual values', () => {
    const manifest = { ...valid(), apiVersion: 'corral.isolator/v0' };
    expect(() => validateManifest(manifest, 'pkg')).toThrow(UnsupportedApiVersionError);
    expect(() => validateManifest(manifest, 'pkg')).toThrow(
      /built for isolator API "corral.isolator\/v0", but this agent supports 'corral.isolator\/v1'/,
    );
  });

  it.each([
    ['not an object', 42, /must be an object made with defineManifest/],
    ['no apiVersion', { isolators: [] }, /'apiVersion' is missing/],
    ['no isolators', { apiVersion: ISOLATOR_API_VERSION, isolators: [] }, /non-empty list/],
    [
      'bad name',
      { apiVersion: ISOLATOR_API_VERSION, isolators: [{ ...example, name: 'quota' }] },
      /isolators\[0\]\.name "quota" must be 'namespace\/name'/,
    ],
    [
      'duplicate name',
      { apiVersion: ISOLATOR_API_VERSION, isolators: [example, example] },
      /'acme\/quota' is defined twice/,
    ],
    [
      'no create',
      { apiVersion: ISOLATOR_API_VERSION, isolators: [{ ...example, create: 'nope' }] },
      /'create' must be a function/,
    ],
    [
      'no description',
      { apiVersion: ISOLATOR_API_VERSION, isolators: [{ ...example, description: '' }] },
      /'description' must be text/,
    ],
    [
      'bad flag name',
      {
        apiVersion: ISOLATOR_API_VERSION,
        isolators: [{ ...example, flags: { 'Bad-Flag': flag.string({ help: 'x' }) } }],
      },
      /flag 'Bad-Flag': flag names are lowercase/,
    ],
    [
      'flag without parse',
      {
        apiVersion: ISOLATOR_API_VERSION,
        isolators: [{ ...example, flags: { ok: { type: 'string', help: 'x', accepted: 'x' } } }],
      },
      /flag 'ok': 'parse' must be a function/,
    ],
    [
      'unknown namespace requirement',
      {
        apiVersion: ISOLATOR_API_VERSION,
        isolators: [{ ...example, requires: { namespaces: ['time'] } }],
      },
      /'requires.namespaces' must list names from/,
    ],
    [
      'honours that is not a list of field paths',
      {
        apiVersion: ISOLATOR_API_VERSION,
        isolators: [{ ...example, honours: ['container.rlimit_info', 'rlimit_info'] }],
      },
      /'honours' must list launch field paths .* \(got "rlimit_info"\)/,
    ],
  ])('refuses a manifest with %s', (_case, manifest, message) => {
    expect(() => validateManifest(manifest, 'pkg')).toThrow(InvalidManifestError);
    expect(() => validateManifest(manifest, 'pkg')).toThrow(message);
  });

  it('names what a package provides when asked for something else', () => {
    expect(() => findIsolatorDefinition(defineManifest(example), 'acme/other', 'pkg')).toThrow(
      "Isolator package 'pkg' has an invalid manifest: it does not provide isolator 'acme/other' (it provides: acme/quota)",
    );
  });
});

describe('isCorralError', () => {
  it('recognises Corral errors by code, also from another copy of the package', async () => {
    const { isCorralError, InvalidContainerConfigError } = await import('./errors.ts');
    expect(isCorralError(new InvalidContainerConfigError('x', 'bad'))).toBe(true);
    const foreign = Object.assign(new Error('from a bundled core'), {
      code: 'CORRAL_INVALID_CONTAINER_CONFIG',
    });
    expect(isCorralError(foreign)).toBe(true);
    expect(isCorralError(Object.assign(new Error('fs'), { code: 'ENOENT' }))).toBe(false);
    expect(isCorralError('CORRAL_X')).toBe(false);
  });
});
