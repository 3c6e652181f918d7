import { readFileSync } from 'node:fs';
import { type Environment, parseInvocation } from './args.ts';
import { AgentClient, type FetchLike } from './client.ts';
import type { Output, Terminal } from './commands/command.ts';
import { COMMANDS } from './commands/index.ts';
import { CliError } from './errors.ts';
import { commandHelp, generalHelp } from './help.ts';

export interface RunOptions {
  readonly argv: readonly string[];
  readonly env: Environment;
  readonly out: Output;
  readonly fetch?: FetchLike;
  /** How often `logs --follow` polls (default 250 ms). */
  readonly pollIntervalMs?: number;
  /** Set when stdin and stdout are a terminal. */
  readonly terminal?: Terminal;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Messages may quote the agent or the network stack: keep them to the one line promised. */
function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}

/**
 * Runs one `corral` invocation and resolves with its exit status. Every failure is one line on
 * stderr: the CLI's own errors with their message, anything else as an internal error.
 */
export async function runCli(options: RunOptions): Promise<number> {
  const { out } = options;
  try {
    const invocation = parseInvocation(options.argv, options.env, COMMANDS);
    if (invocation.kind === 'version') {
      out.stdout(`corral ${version()}\n`);
      return 0;
    }
    if (invocation.kind === 'help') {
      out.stdout(invocation.command ? commandHelp(invocation.command) : generalHelp(COMMANDS));
      return 0;
    }
    const client = new AgentClient({
      ...invocation.connection,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    return await invocation.command.run(
      {
        client,
        json: invocation.json,
        out,
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        pollIntervalMs: options.pollIntervalMs ?? 250,
        terminal: options.terminal,
      },
      invocation.args,
    );
  } catch (error) {
    if (error instanceof CliError) {
      out.stderr(`corral: ${oneLine(error.message)}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    out.stderr(`corral: internal error: ${oneLine(message.split('\n')[0] ?? '')}\n`);
    return 70;
  }
}
