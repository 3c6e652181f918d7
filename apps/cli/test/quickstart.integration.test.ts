import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { cleanUpAgents, cliEnv, linkCliInto, REPO_ROOT, startAgent } from './harness.ts';

const NFT_TABLE = 'corral_demo';

/** The shell commands of the README's Quickstart, one per line, in order. */
function quickstartCommands(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quickstart\n');
  expect(start, 'README.md has a ## Quickstart section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) =>
    (block[1] ?? '').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')),
  );
}

/**
 * Runs the commands in one bash, as a person would in one terminal, with `corral` on the PATH as
 * `pnpm start` puts it there (link-cli.mjs, into a temp bin dir); returns each command's output
 * (stdout and stderr interleaved).
 */
function runQuickstart(commands: readonly string[], agentUrl: string): Map<string, string> {
  const script = commands
    .map((command, index) => `printf '\\n@@@ %d\\n' ${index}\n${command}`)
    .join('\n');
  expect(script).not.toContain('npx');
  const binDir = linkCliInto();
  const result = spawnSync('bash', ['-c', `exec 2>&1\n${script}`], {
    cwd: REPO_ROOT,
    env: cliEnv({ CORRAL_AGENT: agentUrl, PATH: `${binDir}${delimiter}${process.env.PATH}` }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  rmSync(binDir, { recursive: true, force: true });
  expect(result.status, result.stdout).toBe(0);
  const outputs = new Map<string, string>();
  const parts = result.stdout.split(/\n@@@ (\d+)\n/);
  for (let index = 1; index < parts.length; index += 2) {
    const command = commands[Number(parts[index])] ?? '';
    outputs.set(command, parts[index + 1] ?? '');
  }
  expect([...outputs.keys()]).toEqual(commands);
  return outputs;
}

function deleteNftTable(): void {
  spawnSync('nft', ['delete', 'table', 'inet', NFT_TABLE], { stdio: 'ignore' });
}

afterEach(async () => {
  deleteNftTable();
  await cleanUpAgents();
});

describeOnKernel(
  "the README's Quickstart",
  {
    root: true,
    commands: ['nft', 'ipcs', 'ipcmk', 'bash', 'awk', 'grep'],
    cgroupSubsystems: ['net_cls'],
    namespaces: ['ipc', 'mnt'],
  },
  () => {
    it('works as written against a real agent', async () => {
      const commands = quickstartCommands();
      const agent = await startAgent();
      const outputs = runQuickstart(commands, agent.url);
      const output = (pattern: RegExp): string => {
        const matches = commands.filter((command) => pattern.test(command));
        expect(matches, `one Quickstart command matches ${pattern}`).toHaveLength(1);
        return outputs.get(matches[0] ?? '') ?? '';
      };

      // Launch prints the id and the classid under the agent's primary handle 0x19.
      const [, classid = ''] =
        /^demo\nclassid (0x0019[0-9a-f]{4})\n$/.exec(output(/corral launch/)) ?? [];
      expect(classid, output(/corral launch/)).not.toBe('');

      // ps lists it as running with that classid.
      const row = output(/corral ps$/)
        .split('\n')
        .find((line) => line.startsWith('demo '));
      expect(row?.split(/ +/).slice(0, 2)).toEqual(['demo', 'running']);
      expect(row?.split(/ +/)[3]).toBe(classid);

      // Setting the variable and adding the rule print nothing (no errors).
      expect(output(/^classid=/)).toBe('');
      expect(output(/^nft add table/)).toBe('');

      // /state has it in decimal.
      const inState = output(/corral state/)
        .trim()
        .split('\n');
      expect(inState.length).toBeGreaterThan(0);
      expect(new Set(inState)).toEqual(new Set([`"classid":${Number(classid)}`]));

      // nftables counted the container's datagrams by its classid.
      const [, packets = '0'] =
        new RegExp(`meta cgroup ${Number(classid)} counter packets (\\d+) bytes \\d+`).exec(
          output(/nft list chain/),
        ) ?? [];
      expect(Number(packets), output(/nft list chain/)).toBeGreaterThan(0);

      // The queue the container made is listed inside, and its key is absent on the host.
      const logs = output(/corral logs/);
      expect(logs).toMatch(/^Message queue id: \d+\n/);
      const [, key = ''] = /^(0x[0-9a-f]{8}) +\d+ +root/m.exec(logs) ?? [];
      expect(key, logs).not.toBe('');
      const host = output(/^ipcs -q$/);
      expect(host).toContain('Message Queues');
      expect(host).not.toContain(key);

      // Killed: SIGKILL, so the exit code is 137; removed; the table is gone.
      expect(output(/corral kill/)).toBe('demo: sent SIGKILL\n');
      expect(output(/corral wait/)).toMatch(
        /^demo killed by SIGKILL \(TASK_KILLED[^\n]*\nexit code 137\n$/,
      );
      expect(output(/corral rm/)).toBe('demo: removed\n');
      expect(output(/^nft delete table/)).toBe('');
      const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout;
      expect(tables).not.toContain(NFT_TABLE);
      expect(await (await agent.request('/containers')).json()).toEqual([]);
    });
  },
);
