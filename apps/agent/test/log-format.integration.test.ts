import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TmuxSession } from '@corral/test-support/tmux';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, runAgent, startAgent } from './agent-process.ts';

const BIN = new URL('../bin/corral-agent.js', import.meta.url).pathname;
const ESC = '\u001b[';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Flags of an agent that needs no root: its dirs in a temp dir removed after the test. */
function plainAgentFlags(): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'corral-logs-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return [
    `--work_dir=${join(dir, 'work')}`,
    `--runtime_dir=${join(dir, 'run')}`,
    '--launcher=posix',
    '--isolation=posix/cpu,posix/mem',
  ];
}

/** The agent on a terminal (tmux), until its "listening" line shows. */
async function agentOnTerminal(extra: readonly string[], listening: RegExp): Promise<string> {
  const session = new TmuxSession([
    process.execPath,
    BIN,
    '--port=0',
    ...plainAgentFlags(),
    ...extra,
  ]);
  cleanups.push(() => session.close());
  return session.waitFor(listening, 15_000, true);
}

/** The agent on a free port with its stderr in a pipe; resolves with its port and its log text. */
async function agentOnPipe(extra: readonly string[]) {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, `--port=${port}`, ...plainAgentFlags(), ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  cleanups.push(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await exited;
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // Served once recovery is done (503 before).
  for (;;) {
    const response = await fetch(`http://127.0.0.1:${port}/flags`).catch(() => undefined);
    if (response?.ok) {
      const { flags } = (await response.json()) as { flags: Record<string, string> };
      return { flags, stderr: () => stderr };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('log format', () => {
  it('writes JSON lines into a pipe', async () => {
    const agent = await startAgent(plainAgentFlags());
    cleanups.push(() => agent.stop('SIGTERM'));
    const listening = agent.logs.find((line) => line.includes('agent listening'));
    expect(JSON.parse(listening ?? '')).toMatchObject({
      level: 30,
      msg: 'agent listening; recovering',
    });
  });

  it('writes coloured human-readable lines on a terminal', async () => {
    const screen = await agentOnTerminal([], /INFO.*agent listening/);
    expect(screen).toContain(ESC);
    expect(screen).toMatch(
      /^\S*\[\d\d:\d\d:\d\d\.\d{3}\]\S* \S*INFO\S*: \S*agent listening; recovering/m,
    );
    expect(screen).not.toContain('{"level"');
  });

  it('writes JSON on a terminal with --log_format=json', async () => {
    const screen = await agentOnTerminal(['--log_format=json'], /agent listening/);
    expect(screen).not.toContain(ESC);
    expect(screen).toMatch(/^\{"level":30,.*"msg":"agent listening; recovering"\}$/m);
  });

  it('writes plain text, without colour codes, into a pipe with --log_format=text', async () => {
    const agent = await agentOnPipe(['--log_format=text']);
    expect(agent.stderr()).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: agent listening; recovering\n {4}url: "http/m,
    );
    expect(agent.stderr()).not.toContain(ESC);
  });

  it("honours Mesos' --logging_level over --log_level", async () => {
    const agent = await agentOnPipe(['--log_level=debug', '--logging_level=warning']);
    expect(agent.flags).toMatchObject({ logging_level: 'warning' });
    // Started and serving, yet not one info or debug line.
    expect(agent.stderr()).toBe('');
  });

  it('refuses a logging level or format it does not know, naming it', () => {
    const level = runAgent(['--logging_level=VERBOSE', ...plainAgentFlags()]);
    expect(level.status).toBe(1);
    expect(level.stderr).toContain(
      "Invalid value 'VERBOSE' for flag --logging_level: 'VERBOSE' is not a Mesos logging level; accepted: INFO, WARNING or ERROR (any case)",
    );
    const format = runAgent(['--log_format=yaml', ...plainAgentFlags()]);
    expect(format.status).toBe(1);
    expect(format.stderr).toContain("'yaml' is not one of json, text");
  });
});
