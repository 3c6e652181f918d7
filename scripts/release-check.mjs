// `pnpm release:check`: proves that what is committed releases. In a fresh clone (so nothing of
// this checkout's state leaks in) it applies `changeset version` when changesets are pending
// (checking each public package got a version above 0.0.0 and a CHANGELOG.md naming it), builds,
// packs every public package with `pnpm pack`, checks each tarball holds what its package.json
// points at (dist, bins, the native helpers listed in `files`) plus README.md and LICENSE and no
// `workspace:` range, installs all tarballs into an empty directory with npm, imports every
// package, and runs every bin with --help and --version (where it has one). Exits 1 naming each
// problem.
//   --keep: leave the temp dir (its path is printed) to look at the tarballs.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const work = mkdtempSync(join(tmpdir(), 'corral-release-'));
const clone = join(work, 'corral');
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const problems = [];

// The clone's tools (turbo, pnpm, Node 24) first, as `pnpm run` would put them.
const env = {
  ...process.env,
  PATH: `${join(clone, 'node_modules/.bin')}${delimiter}${process.env.PATH}`,
};

function run(command, args, cwd, options = {}) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', ...options });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}:\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
}
const step = (text) => console.error(`release:check: ${text}`);
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
// pnpm from the repository's devDependencies: the same version as the README's npx pin.
const pnpm = (args, cwd) => run(join(repo, 'node_modules/.bin/pnpm'), args, cwd);

function publicPackages() {
  return ['packages', 'apps']
    .flatMap((group) => readdirSync(join(clone, group)).map((name) => join(clone, group, name)))
    .filter((dir) => existsSync(join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson(join(dir, 'package.json')) }))
    .filter(({ manifest }) => manifest.private !== true);
}

/**
 * Every file a package.json points at: export targets (all conditions), bins, and the single
 * files `files` names (e.g. the launcher's native/build/corral-init), built or not.
 */
function requiredFiles(dir, manifest) {
  const targets = [];
  const walk = (value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(manifest.exports);
  walk(manifest.bin);
  const singleFiles = (manifest.files ?? []).filter(
    (entry) =>
      !/[!*]/.test(entry) &&
      !(existsSync(join(dir, entry)) && statSync(join(dir, entry)).isDirectory()),
  );
  return new Set(
    ['package.json', 'README.md', 'LICENSE', ...targets, ...singleFiles].map((file) =>
      file.replace(/^\.\//, ''),
    ),
  );
}

try {
  step(`cloning ${repo} into ${clone}`);
  run('git', ['clone', '--quiet', repo, clone], work);
  // Changesets versions from the branch it was configured with.
  run('git', ['checkout', '--quiet', '-B', 'main'], clone);
  pnpm(['install', '--frozen-lockfile', '--silent'], clone);

  const pending = readdirSync(join(clone, '.changeset')).filter(
    (file) => file.endsWith('.md') && file !== 'README.md',
  );
  if (pending.length > 0) {
    step(`applying ${pending.length} pending changesets (changeset version), in the clone only`);
    run(process.execPath, [join(clone, 'node_modules/@changesets/cli/bin.js'), 'version'], clone);
  }
  const packages = publicPackages();
  for (const { dir, manifest } of packages) {
    if (manifest.version === '0.0.0')
      problems.push(`${manifest.name}: still version 0.0.0 (no changeset for it?)`);
    const changelog = join(dir, 'CHANGELOG.md');
    if (
      !existsSync(changelog) ||
      !readFileSync(changelog, 'utf8').includes(`## ${manifest.version}\n`)
    ) {
      problems.push(`${manifest.name}: CHANGELOG.md has no "## ${manifest.version}" section`);
    }
  }

  step('building');
  run(join(clone, 'node_modules/.bin/turbo'), ['run', 'build', '--output-logs=errors-only'], clone);

  step(`packing ${packages.length} public packages`);
  mkdirSync(tarballs);
  const packed = [];
  for (const { dir, manifest } of packages) {
    const result = JSON.parse(pnpm(['pack', '--json', '--pack-destination', tarballs], dir));
    const files = new Set(result.files.map(({ path }) => path));
    for (const file of requiredFiles(dir, manifest)) {
      if (!files.has(file)) problems.push(`${manifest.name}: the tarball lacks ${file}`);
    }
    const inside = JSON.parse(run('tar', ['-xzOf', result.filename, 'package/package.json'], work));
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [name, range] of Object.entries(inside[field] ?? {})) {
        if (String(range).startsWith('workspace:'))
          problems.push(`${manifest.name}: ${field}.${name} is still ${range}`);
      }
    }
    packed.push({ manifest, filename: result.filename });
  }

  step('installing every tarball into an empty directory with npm');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'corral-release-check', private: true }),
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      // Peers come in as for any npm user (vitest and vite for the testkit); cached metadata is
      // used as is, since every optional peer of vitest is asked for.
      '--prefer-offline',
      '--loglevel=error',
      ...packed.map(({ filename }) => filename),
    ],
    app,
    { timeout: 300_000 },
  );

  for (const { manifest } of packed) {
    const imported = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(manifest.name)})`],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
    if (imported.status !== 0)
      problems.push(
        `${manifest.name}: import failed: ${imported.stderr.split('\n').find((line) => /Error/.test(line)) ?? imported.stderr}`,
      );
    for (const bin of Object.keys(manifest.bin ?? {})) {
      const runBin = (flag) =>
        spawnSync(
          process.execPath,
          [join(app, 'node_modules', manifest.name, manifest.bin[bin]), flag],
          {
            cwd: app,
            encoding: 'utf8',
          },
        );
      const help = runBin('--help');
      if (help.status !== 0) {
        problems.push(`${bin} --help exited ${help.status}: ${(help.stdout + help.stderr).trim()}`);
      }
      const version = runBin('--version');
      // create-corral-isolator has no --version and says so.
      if (/unknown option '--version'/i.test(version.stderr)) continue;
      // `corral 0.1.0`, or runc's style `corral-runc version 0.1.0`.
      if (!version.stdout.startsWith(bin) || !version.stdout.includes(` ${manifest.version}\n`)) {
        problems.push(
          `${bin} --version: expected ${bin} and ${manifest.version}, got '${(version.stdout + version.stderr).trim()}'`,
        );
      } else step(version.stdout.split('\n')[0]);
    }
  }
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error));
} finally {
  if (process.argv.includes('--keep')) step(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`release:check: ✗ ${problem}`);
  process.exit(1);
}
step('every public package packs, installs with npm, imports, and reports its version');
