import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InitSpec } from '../src/index.ts';

/** A temp dir per test holding the status and output files; `spec()` fills in the rest. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-launcher-'));
  readonly statusFile = join(this.dir, 'status');
  readonly stdoutFile = join(this.dir, 'stdout');
  readonly stderrFile = join(this.dir, 'stderr');

  spec(argv: readonly string[], overrides: Partial<InitSpec> = {}): InitSpec {
    return {
      argv,
      environment: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      workingDirectory: join(this.dir, 'work'),
      cloneNamespaces: [],
      mounts: [],
      rlimits: [],
      statusFile: this.statusFile,
      stdoutFile: this.stdoutFile,
      stderrFile: this.stderrFile,
      ...overrides,
    };
  }

  stdout(): string {
    return readFileSync(this.stdoutFile, 'utf8');
  }

  /** What the init wrote to stderr so far: '' until the init has opened the file. */
  stderrSoFar(): string {
    try {
      return readFileSync(this.stderrFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw error;
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Direct children of `pid` (the init's only child is the command). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(' ')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The command's pid: waits until the init has forked it. */
export async function commandOf(initPid: number): Promise<number> {
  await waitFor(`the command of init ${initPid}`, () => childrenOf(initPid).length > 0);
  return childrenOf(initPid)[0] ?? 0;
}

function statFields(pid: string): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The parent of `pid`, or undefined when there is no such process. */
export function parentOf(pid: number): number | undefined {
  const ppid = statFields(String(pid))?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}

/** Live (non-zombie) pids whose process group is `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      const fields = statFields(pid);
      return fields !== undefined && fields[0] !== 'Z' && fields[2] === String(pgid);
    })
    .map(Number);
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const fields = statFields(String(pid));
  return fields !== undefined && fields[0] !== 'Z';
}

/** Kills whatever a failed test left in the init's process group. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs `test/fixtures/<name>` in a Node process of its own (an agent that exits), resolving with
 * what it printed once it has exited.
 */
export function runFixture(name: string, args: readonly string[]): Promise<string> {
  const fixture = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=@corral/source', '--import', 'tsx', fixture, ...args],
      { cwd: PACKAGE_DIR, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}
