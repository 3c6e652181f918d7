import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { launchCall, Scenario } from './harness.ts';

const SECRET = 'S3cr3t-that-must-not-leak';
let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

const basic = (principal: string, secret: string) =>
  `Basic ${Buffer.from(`${principal}:${secret}`).toString('base64')}`;

describeOnKernel(
  'authentication',
  { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'] },
  () => {
    it('refuses every mutating call without or with wrong credentials, changes nothing, logs no secret', async () => {
      scenario = new Scenario();
      const credentials = join(scenario.root, 'credentials.json');
      writeFileSync(
        credentials,
        JSON.stringify({ credentials: [{ principal: 'ops', secret: SECRET }] }),
      );
      // The sweeper in cleanup() starts without these flags, so they go to this agent only.
      const agent = await scenario.start({}, [
        '--authenticate_http_readwrite',
        '--authenticate_http_readonly',
        `--http_credentials=${credentials}`,
      ]);
      const call = (body: unknown, authorization?: string) =>
        fetch(`${agent.url}/api/v1`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(authorization ? { authorization } : {}),
          },
          body: JSON.stringify(body),
        });
      const good = basic('ops', SECRET);
      expect((await call(launchCall('guarded'), good)).status).toBe(200);
      const stateOf = async () =>
        (
          await fetch(`${agent.url}/state`, { headers: { authorization: good } })
        ).json() as Promise<{
          frameworks: { executors: unknown[]; completed_executors: unknown[] }[];
        }>;
      const before = await stateOf();

      const id = { container_id: { value: 'guarded' } };
      const mutating = [
        launchCall('intruder'),
        { type: 'KILL_CONTAINER', kill_container: id },
        { type: 'REMOVE_CONTAINER', remove_container: id },
        { type: 'WAIT_CONTAINER', wait_container: id },
      ];
      const wrong = [
        undefined,
        basic('ops', 'guess'),
        basic('root', SECRET),
        basic('ops', `${SECRET}x`),
        'Bearer x',
        'Basic !!!',
      ];
      for (const body of mutating) {
        for (const authorization of wrong) {
          const response = await call(body, authorization);
          expect(response.status).toBe(401);
          expect(response.headers.get('www-authenticate')).toBe(
            'Basic realm="corral-agent-readwrite"',
          );
        }
      }
      expect((await fetch(`${agent.url}/state`)).status).toBe(401);
      expect((await fetch(`${agent.url}/health`)).status).toBe(200);
      const after = await stateOf();
      expect(after.frameworks[0]?.executors).toEqual(before.frameworks[0]?.executors);
      expect(after.frameworks[0]?.completed_executors).toEqual([]);

      const flags = (await (
        await fetch(`${agent.url}/flags`, { headers: { authorization: good } })
      ).json()) as object;
      expect(JSON.stringify(flags)).not.toContain(SECRET);
      expect(agent.logs.join('\n')).not.toContain(SECRET);
      expect(agent.logs.join('\n')).not.toContain(Buffer.from(`ops:${SECRET}`).toString('base64'));
      expect((await call({ type: 'KILL_CONTAINER', kill_container: id }, good)).status).toBe(200);
    });
  },
);
