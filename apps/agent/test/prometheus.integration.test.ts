import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { destroyCgroup, findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, expect, it } from 'vitest';
import { freePort, type RunningAgent, recoveredState, startAgent } from './agent-process.ts';

const DOCS = fileURLToPath(new URL('../../../docs/prometheus/', import.meta.url));
const cgroupsRoot = `corral-test-${process.pid}-prometheus`;
let dir: string | undefined;
let agent: RunningAgent | undefined;
let prometheus: ChildProcess | undefined;

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = once(prometheus, 'exit');
    prometheus.kill('SIGTERM');
    await exited;
  }
  for (const id of ['spin', 'hog']) {
    await agent?.call({ type: 'KILL_CONTAINER', kill_container: { container_id: { value: id } } });
  }
  await agent?.stop('SIGTERM');
  const hierarchies = new Set([
    findCgroup2Mount(),
    ...['net_cls', 'cpu', 'cpuacct', 'memory', 'freezer'].map((subsystem) =>
      findV1Hierarchy(subsystem),
    ),
  ]);
  for (const hierarchy of hierarchies) {
    if (hierarchy) await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface QueryResult {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

/** Polls Prometheus' query API until `accept` holds for the result of `query`. */
async function queryUntil(
  base: string,
  query: string,
  accept: (results: readonly QueryResult[]) => boolean,
): Promise<QueryResult[]> {
  const deadline = Date.now() + 30_000;
  let last: unknown;
  for (;;) {
    const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`).catch(
      () => undefined,
    );
    if (response?.ok) {
      last = await response.json();
      const results = (last as { data: { result: QueryResult[] } }).data.result;
      if (accept(results)) return results;
    }
    if (Date.now() > deadline) throw new Error(`${query}: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describeOnKernel(
  'a real Prometheus scraping the agent',
  {
    root: true,
    commands: ['prometheus', 'promtool', 'perl'],
    cgroupSubsystems: ['net_cls', 'cpu', 'cpuacct', 'memory'],
  },
  () => {
    it('has the per-container CPU series and fires the OOM alert of the shipped rules', async () => {
      dir = mkdtempSync(join(tmpdir(), 'corral-prometheus-'));
      agent = await startAgent([
        `--work_dir=${join(dir, 'work')}`,
        `--runtime_dir=${join(dir, 'run')}`,
        `--cgroups_root=${cgroupsRoot}`,
        '--launcher=linux',
        '--isolation=cgroups/net_cls,cgroups/cpu,cgroups/mem',
        '--cgroups_net_cls_primary_handle=0x19',
      ]);
      await recoveredState(agent);
      const launch = async (id: string, command: string, fields: Record<string, unknown> = {}) => {
        const response = await agent?.call({
          type: 'LAUNCH_CONTAINER',
          launch_container: { container_id: { value: id }, command: { value: command }, ...fields },
        });
        expect(response?.status, await response?.text()).toBe(200);
      };
      await launch('spin', 'while :; do :; done');
      await launch('hog', `exec perl -e '$x = "a" x (200 * 1024 * 1024)'`, {
        limits: { mem: { value: 64 } },
      });

      // The exposition itself passes Prometheus' own lint.
      const text = await (await agent.get('/metrics')).text();
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(lint.stdout + lint.stderr).toBe('');
      expect(lint.status).toBe(0);

      // The shipped example config and rules, pointed at this agent, scraping every second.
      const target = new URL(agent.url).host;
      copyFileSync(join(DOCS, 'corral-alerts.yml'), join(dir, 'corral-alerts.yml'));
      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global: {scrape_interval: 1s, evaluation_interval: 1s}',
          'rule_files: [corral-alerts.yml]',
          `scrape_configs: [{job_name: corral, static_configs: [{targets: ['${target}']}]}]`,
        ].join('\n'),
      );
      for (const [what, file] of [
        ['config', join(DOCS, 'prometheus.yml')],
        ['config', join(dir, 'prometheus.yml')],
        ['rules', join(DOCS, 'corral-alerts.yml')],
      ] as const) {
        const check = spawnSync('promtool', ['check', what, file], { encoding: 'utf8' });
        expect(check.status, check.stdout + check.stderr).toBe(0);
      }
      const port = await freePort();
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: 'ignore' },
      );
      const base = `http://127.0.0.1:${port}`;

      const [cpu] = await queryUntil(
        base,
        'container_cpu_usage_seconds_total{job="corral",container_id="spin"}',
        (results) => Number(results[0]?.value[1] ?? 0) > 0,
      );
      expect(cpu?.metric.classid).toMatch(/^0x0019[0-9a-f]{4}$/);
      // Two scrapes apart, a busy loop's CPU rate is about one core.
      const [rate] = await queryUntil(
        base,
        'rate(container_cpu_usage_seconds_total{container_id="spin"}[5s])',
        (results) => Number(results[0]?.value[1] ?? 0) > 0.2,
      );
      expect(Number(rate?.value[1])).toBeLessThan(2.5);
      await queryUntil(
        base,
        'ALERTS{alertname="CorralContainerOOMKilled",alertstate="firing",container_id="hog"}',
        (results) => results.length === 1,
      );
    }, 60_000);
  },
);
