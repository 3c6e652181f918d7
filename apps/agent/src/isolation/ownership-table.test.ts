import { readFileSync } from 'node:fs';
import { ENGINE_LAUNCH_FIELDS } from '@corral/containerizer';
import { type IsolatorManifest, validateManifest } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { BUILTIN_ISOLATOR_PACKAGES } from './builtin.ts';
import { LaunchFieldPolicy, ownershipMarkdown } from './launch-fields.ts';

const README = new URL('../../README.md', import.meta.url);
const BEGIN = '<!-- launch-fields:begin (generated: pnpm --filter @corral/agent test) -->';
const END = '<!-- launch-fields:end -->';

/** Corral's own isolators: the built-in ones and posix/rlimits, installed through --modules_dir. */
async function ownManifests(): Promise<IsolatorManifest[]> {
  const packages = [
    ...new Set(BUILTIN_ISOLATOR_PACKAGES.values()),
    '@corral/isolator-posix-rlimits',
  ];
  return Promise.all(
    packages.map(async (name) => validateManifest((await import(name)).default, name)),
  );
}

describe('the agent README', () => {
  it("shows the launch-field ownership table that the engine and Corral's manifests make", async () => {
    const owners = (await ownManifests()).flatMap((manifest) => manifest.isolators);
    const expected = ownershipMarkdown(LaunchFieldPolicy.table(ENGINE_LAUNCH_FIELDS, owners));
    const readme = readFileSync(README, 'utf8');
    const start = readme.indexOf(BEGIN);
    const end = readme.indexOf(END);
    expect(start, `the README needs the markers ${BEGIN} … ${END}`).toBeGreaterThan(-1);
    expect(readme.slice(start + BEGIN.length, end).trim()).toBe(expected.trim());
  });
});
