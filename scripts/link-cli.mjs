// Puts `corral` on the PATH: a two-line shell shim that runs this checkout's built CLI with the
// repository's pinned Node 24 (a symlink to bin/corral.js would run whatever `node` the shell
// finds, often the system's 20). Called by `pnpm start` after the build; `pnpm link-cli` alone
// does the same.
//   CORRAL_BIN_DIR=<dir>: link there (tests use a temp dir on their own PATH);
//   otherwise /usr/local/bin when writable (root), else ~/.local/bin.
// A `corral` there that this script did not write (e.g. `npm install -g @corral/cli`) is left alone.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARKER = '# corral: linked by scripts/link-cli.mjs';
const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));

function writable(dir) {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function binDir() {
  if (process.env.CORRAL_BIN_DIR) return resolve(process.env.CORRAL_BIN_DIR);
  if (writable('/usr/local/bin')) return '/usr/local/bin';
  return join(homedir(), '.local', 'bin');
}

const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;
// The stable path of the pinned Node (the store path behind it changes with its version).
const pinnedNode = join(repo, 'node_modules', '.bin', 'node');
const node = existsSync(pinnedNode) ? pinnedNode : process.execPath;
const shim = `#!/bin/sh\n${MARKER} in ${repo}\nexec ${quote(node)} ${quote(join(repo, 'apps/cli/bin/corral.js'))} "$@"\n`;

const dir = binDir();
const target = join(dir, 'corral');
if (existsSync(target) && !readFileSync(target, 'utf8').includes(MARKER)) {
  console.error(
    `corral: not linking: ${target} exists and was not written by ${repo}/scripts/link-cli.mjs`,
  );
} else {
  mkdirSync(dir, { recursive: true });
  writeFileSync(target, shim, { mode: 0o755 });
  const onPath = (process.env.PATH ?? '').split(delimiter).includes(dir);
  console.error(
    `corral: ${target} runs the CLI of ${repo}${onPath ? '' : ` (add ${dir} to your PATH)`}`,
  );
}
