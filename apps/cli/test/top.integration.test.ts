import { describeOnKernel } from '@corral/test-support/kernel';
import { TmuxSession } from '@corral/test-support/tmux';
import { afterEach, expect, it } from 'vitest';
import type { TopRow } from '../src/commands/top.ts';
import { CLI_BIN, cleanUpAgents, cliEnv, corral, startAgent, type TestAgent } from './harness.ts';

const sessions: TmuxSession[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.close();
  await cleanUpAgents();
});

/** An agent running one container that keeps a core busy. */
async function agentWithBusyContainer(): Promise<TestAgent> {
  const agent = await startAgent();
  const launched = await corral(agent.url, [
    'launch',
    '--id',
    'busy',
    '--shell',
    'while :; do :; done',
  ]);
  expect([launched.status, launched.stderr]).toEqual([0, '']);
  return agent;
}

/** `corral top` on a real terminal (tmux) against `agent`. */
function topOnTerminal(agent: TestAgent): TmuxSession {
  const session = new TmuxSession([process.execPath, CLI_BIN, 'top', '--interval', '0.3'], {
    env: cliEnv({ CORRAL_AGENT: agent.url }),
  });
  sessions.push(session);
  return session;
}

// A row with a CPU % needs two looks: `busy  running  0x0019xxxx  98.7  …`.
const BUSY_ROW = /^busy +running +0x0019[0-9a-f]{4} +(\d+\.\d) +[\d.]+ [KM]iB +\d+ +- *$/m;

describeOnKernel(
  'corral top',
  { root: true, commands: ['tmux'], cgroupSubsystems: ['net_cls'], namespaces: ['ipc', 'mnt'] },
  () => {
    it('redraws a live table on a terminal and quits on q, restoring the screen', async () => {
      const agent = await agentWithBusyContainer();
      const session = topOnTerminal(agent);
      const screen = await session.waitFor(BUSY_ROW, 15_000);
      expect(screen).toMatch(
        /^corral top {2}http:\/\/127\.0\.0\.1:\d+ {2}\d\d:\d\d:\d\d {2}1 container {2}\(q quits\)$/m,
      );
      expect(Number(BUSY_ROW.exec(screen)?.[1])).toBeGreaterThan(20);
      session.sendKeys('q');
      expect(await session.waitForExit()).toBe(0);
      // Back from the alternate screen: the table is gone with it.
      expect(session.capture()).not.toContain('busy');
    });

    it('quits on Ctrl-C', async () => {
      const agent = await agentWithBusyContainer();
      const session = topOnTerminal(agent);
      await session.waitFor(/^busy /m, 15_000);
      session.sendKeys('C-c');
      expect(await session.waitForExit()).toBe(0);
    });

    it('prints one snapshot into a pipe, as a table or as JSON', async () => {
      const agent = await agentWithBusyContainer();
      const table = await corral(agent.url, ['top', '--interval', '0.5']);
      expect([table.status, table.stderr]).toEqual([0, '']);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID +STATE +CLASSID +CPU % +RSS +PROCS +NET TX\/s$/);
      expect(lines.slice(1)).toHaveLength(1);
      expect(lines[1]).toMatch(BUSY_ROW);

      const json = await corral(agent.url, ['top', '--json', '--interval', '0.5']);
      expect([json.status, json.stderr]).toEqual([0, '']);
      const [row] = JSON.parse(json.stdout) as TopRow[];
      expect(row).toMatchObject({ id: 'busy', state: 'TASK_RUNNING', net_tx_bytes_per_sec: null });
      expect(row?.cpu_percent).toBeGreaterThan(20);
      expect(row?.processes).toBeGreaterThan(0);
    });
  },
);
