import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * A command running on a real terminal: a detached tmux session on a private socket (so parallel
 * tests and a user's own tmux never meet), driven with send-keys and read with capture-pane.
 */
export class TmuxSession {
  private readonly dir: string;
  private readonly socket: string;
  private readonly statusFile: string;

  /** Runs `argv` in `cwd` on a `width`×`height` terminal; the pane stays readable after it exits. */
  constructor(
    argv: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; width?: number; height?: number } = {},
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'corral-tmux-'));
    this.socket = join(this.dir, 'socket');
    const [width, height] = [String(options.width ?? 160), String(options.height ?? 40)];
    // A placeholder first, so remain-on-exit is set before the real command can exit.
    this.tmux(
      ['-f', '/dev/null', 'new-session', '-d', '-x', width, '-y', height, 'cat'],
      options.env,
    );
    this.tmux(['set-option', '-g', 'remain-on-exit', 'on']);
    // The shell records the status: tmux 3.3a at times leaves a pane's exited process unreaped
    // (a zombie), and its #{pane_dead_status} then never comes.
    this.statusFile = join(this.dir, 'status');
    const command = `cd ${quote(options.cwd ?? process.cwd())} && ${argv.map(quote).join(' ')}; echo $? > ${quote(this.statusFile)}`;
    this.tmux(['respawn-pane', '-k', command]);
  }

  private tmux(args: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
    const result = spawnSync('tmux', ['-S', this.socket, ...args], { env, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`tmux ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    }
    return result.stdout;
  }

  /** The screen as text, wrapped lines joined; with `escapes`, colour and attribute codes too. */
  capture(escapes = false): string {
    return this.tmux([
      'capture-pane',
      '-p',
      '-J',
      ...(escapes ? ['-e'] : []),
      '-S',
      '-',
      '-E',
      '-',
    ]);
  }

  /** tmux key names: `q`, `C-c`, `Enter`. */
  sendKeys(...keys: string[]): void {
    this.tmux(['send-keys', ...keys]);
  }

  /** The command's exit status once it has exited, else undefined. */
  exitStatus(): number | undefined {
    // Empty until the shell's write lands.
    const text = existsSync(this.statusFile) ? readFileSync(this.statusFile, 'utf8').trim() : '';
    return text === '' ? undefined : Number(text);
  }

  /** Polls the screen until `pattern` shows, or throws with the screen after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000, escapes = false): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.capture(escapes);
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`no ${pattern} on the terminal:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Polls until the command has exited and returns its status. */
  async waitForExit(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.exitStatus();
      if (status !== undefined) return status;
      if (Date.now() > deadline) throw new Error(`still running:\n${this.capture()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills the session (and its command) and removes the socket. */
  close(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server'], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
