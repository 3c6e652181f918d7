import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defineIsolator,
  defineManifest,
  flag,
  ISOLATOR_API_VERSION,
  type IsolatorDefinition,
} from '@corral/core';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeDefinition, fakeManifest } from '../test/fake-isolator.ts';
import {
  checkApiVersion,
  checkDeclared,
  checkFlagDefaults,
  checkFlagHelp,
  checkManifest,
  checkNames,
} from './manifest-checks.ts';
import { type ContractRule, RULES } from './rules.ts';

function broken(rule: ContractRule, check: () => void, detail: RegExp): void {
  expect(check).toThrow(`contract rule '${rule}' broken: `);
  expect(check).toThrow(detail);
}

const valid = fakeManifest(new Set());

describe('the manifest checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-testkit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const packageJson = (content: unknown): string => {
    const file = join(dir, `${Math.random()}.json`);
    writeFileSync(file, JSON.stringify(content));
    return file;
  };

  it('pass a manifest made with defineManifest', () => {
    expect(checkManifest(valid, 'pkg')).toBe(valid);
    checkApiVersion(valid);
    checkNames(valid);
    checkDeclared(valid, packageJson({ corral: { isolators: ['fake/host'] } }));
    checkFlagHelp(fakeDefinition(new Set()));
    checkFlagDefaults(fakeDefinition(new Set()));
  });

  it('report what validateManifest refuses', () => {
    broken(RULES.manifest, () => checkManifest(undefined, 'pkg'), /has no default export/);
    broken(RULES.manifest, () => checkManifest({ ...valid, isolators: [] }, 'pkg'), /non-empty/);
  });

  it('require the API version of this @corral/core', () => {
    broken(
      RULES.apiVersion,
      () => checkApiVersion({ ...valid, apiVersion: 'corral.isolator/v0' }),
      new RegExp(`apiVersion is "corral.isolator/v0"; .* supports '${ISOLATOR_API_VERSION}'`),
    );
  });

  it('require namespace/name names, each once', () => {
    const [definition] = valid.isolators;
    broken(
      RULES.names,
      () => checkNames({ ...valid, isolators: [{ ...definition, name: 'Fake' }] }),
      /isolators\[0\] is named "Fake"/,
    );
    broken(
      RULES.names,
      () => checkNames({ ...valid, isolators: [definition, definition] }),
      /'fake\/host' is defined more than once/,
    );
  });

  it("require package.json's corral.isolators to match the manifest", () => {
    broken(
      RULES.declared,
      () => checkDeclared(valid, packageJson({ name: 'x' })),
      /has no list of names in 'corral.isolators'; add {"corral":{"isolators":\["fake\/host"\]}}/,
    );
    broken(
      RULES.declared,
      () => checkDeclared(valid, packageJson({ corral: { isolators: ['fake/other'] } })),
      /it lacks fake\/host; the manifest does not provide fake\/other/,
    );
    broken(RULES.declared, () => checkDeclared(valid, join(dir, 'none.json')), /cannot read/);
  });

  it('require help text and an accepted form for every flag', () => {
    const definition: IsolatorDefinition = {
      ...fakeDefinition(new Set()),
      flags: { fake_x: { ...flag.string({ help: 'x' }), help: ' ' } },
    };
    broken(
      RULES.flagHelp,
      () => checkFlagHelp(definition),
      /flag --fake_x of 'fake\/host' has no 'help'/,
    );
  });

  it('require every default to parse back from the form --help and /flags show', () => {
    const withFlags = (flags: IsolatorDefinition['flags']) =>
      defineIsolator({ name: 'fake/flags', description: 'd', flags, create: () => ({}) });
    checkFlagDefaults(
      withFlags({
        fake_on: flag.boolean({ help: 'on', default: false }),
        fake_n: flag.integer({ help: 'n', min: 0, max: 9, default: 3 }),
        fake_s: flag.string({ help: 's', default: 'x' }),
      }),
    );
    broken(
      RULES.flagDefaults,
      () =>
        checkFlagDefaults(withFlags({ fake_size: flag.bytes({ help: 'size', default: 1024 }) })),
      /flag --fake_size of 'fake\/flags': its default 1024 is shown as '1024', which the flag refuses/,
    );
    const range = flag.custom({
      help: 'range',
      accepted: 'lo,hi',
      default: { lo: 1, hi: 2 },
      parse: (raw) => {
        const [lo, hi] = raw.split(',').map(Number);
        return { lo: lo ?? 0, hi: hi ?? 0 };
      },
    });
    broken(
      RULES.flagDefaults,
      () => checkFlagDefaults(withFlags({ fake_range: range })),
      /is shown as '\[object Object\]', which parses to {"lo":null,"hi":0}/,
    );
  });

  it('are independent of each other: a broken name still gets a names report', () => {
    const manifest = defineManifest({ ...fakeDefinition(new Set()), name: 'nope' });
    broken(RULES.names, () => checkNames(manifest), /"nope"/);
    checkApiVersion(manifest);
  });
});
