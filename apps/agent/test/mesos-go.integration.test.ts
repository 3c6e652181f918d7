import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findV1Hierarchy } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AGENT_VERSION } from '../src/version.ts';
import {
  isolatedAgentFlags,
  type RunningAgent,
  recoveredState,
  startAgent,
} from './agent-process.ts';

const SOURCE = new URL('./mesos-go/probe.go', import.meta.url).pathname;
const GOPATH = '/usr/share/gocode';
const MESOS_GO = `${GOPATH}/src/github.com/mesos/mesos-go/api/v1/lib/httpcli/httpagent`;
/** Gitignored with node_modules; one binary per source, so CI builds it once (~20 s). */
const CACHE = new URL('../node_modules/.cache/mesos-go-probe/', import.meta.url).pathname;

/** The probe built from test/mesos-go/probe.go, reused while its source and Go are unchanged. */
function probeBinary(): string {
  if (!existsSync(MESOS_GO)) {
    throw new Error(
      `mesos-go is not installed (${MESOS_GO}): run scripts/ensure-system-packages.sh as root (golang-github-mesos-mesos-go-dev)`,
    );
  }
  const goVersion = execFileSync('go', ['version'], { encoding: 'utf8' });
  const hash = createHash('sha256').update(readFileSync(SOURCE)).update(goVersion).digest('hex');
  const binary = join(CACHE, hash.slice(0, 16), 'probe');
  if (existsSync(binary)) return binary;
  mkdirSync(join(CACHE, 'go-build'), { recursive: true });
  const partial = `${binary}.${process.pid}`;
  mkdirSync(join(binary, '..'), { recursive: true });
  execFileSync('go', ['build', '-o', partial, SOURCE], {
    env: {
      ...process.env,
      GOPATH,
      GO111MODULE: 'off',
      GOCACHE: join(CACHE, 'go-build'),
      GOFLAGS: '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  renameSync(partial, binary);
  return binary;
}

interface ProbeReport {
  readonly codec: string;
  readonly content_types: Record<string, string>;
  readonly decoded: Record<string, unknown>;
  readonly failures: string[] | null;
}

let dir: string;
let cgroupsRoot: string;
let agent: RunningAgent | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'corral-mesos-go-'));
  cgroupsRoot = `corral-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
});

afterEach(async () => {
  if (agent) {
    await agent.call({
      type: 'KILL_CONTAINER',
      kill_container: { container_id: { value: 'probe' } },
    });
    await agent.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'probe' } },
    });
    await agent.stop('SIGTERM');
    agent = undefined;
  }
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of ['/sys/fs/cgroup/unified', findV1Hierarchy('net_cls')]) {
    const root = hierarchy && join(hierarchy, cgroupsRoot);
    if (root && existsSync(root)) rmdirSync(root);
  }
});

describeOnKernel(
  'the real mesos-go client (0.0.6) against the agent',
  { root: true, cgroup2: true, commands: ['go'], cgroupSubsystems: ['net_cls'] },
  () => {
    it('decodes every read call it knows, in protobuf and JSON, with exact Content-Types', async () => {
      const probe = probeBinary();
      agent = await startAgent(isolatedAgentFlags(dir, cgroupsRoot));
      await recoveredState(agent);
      const launched = await agent.call({
        type: 'LAUNCH_CONTAINER',
        launch_container: {
          container_id: { value: 'probe' },
          command: { value: 'echo hello from probe; exec sleep 300' },
        },
      });
      expect(launched.status).toBe(200);
      const [entry] = (await (await agent.get('/containers')).json()) as {
        status: { cgroup_info: { net_cls: { classid: number } } };
      }[];
      const classid = entry?.status.cgroup_info.net_cls.classid;
      expect(classid).toBeGreaterThan(0);

      for (const codec of ['protobuf', 'json'] as const) {
        let stdout: string;
        try {
          stdout = execFileSync(
            probe,
            [
              `-endpoint=${agent.url}/api/v1`,
              `-codec=${codec}`,
              '-container=probe',
              `-classid=${classid}`,
              `-version=${AGENT_VERSION}`,
              '-output=hello from probe\n',
            ],
            { encoding: 'utf8', timeout: 60_000 },
          );
        } catch (error) {
          const failed = error as { stdout?: string; stderr?: string };
          throw new Error(`mesos-go probe (${codec}) failed:\n${failed.stderr}\n${failed.stdout}`);
        }
        const report = JSON.parse(stdout) as ProbeReport;
        const mediaType = codec === 'protobuf' ? 'application/x-protobuf' : 'application/json';
        expect(report.failures).toBeNull();
        for (const [call, contentType] of Object.entries(report.content_types)) {
          expect(contentType, call).toBe(call === 'SET_LOGGING_LEVEL' ? '' : mediaType);
        }
        expect(Object.keys(report.content_types).sort()).toEqual([
          'GET_AGENT',
          'GET_CONTAINERS',
          'GET_EXECUTORS',
          'GET_FLAGS',
          'GET_FRAMEWORKS',
          'GET_HEALTH',
          'GET_LOGGING_LEVEL',
          'GET_METRICS',
          'GET_STATE',
          'GET_TASKS',
          'GET_VERSION',
          'LIST_FILES',
          'READ_FILE',
          'SET_LOGGING_LEVEL',
        ]);
        expect(report.decoded).toMatchObject({
          healthy: true,
          version: AGENT_VERSION,
          isolation: 'cgroups/net_cls,namespaces/ipc,posix/cpu,posix/mem',
          logging_level_after: 1,
          stdout: 'hello from probe\n',
          frameworks: ['corral-local'],
          executors: ['probe'],
          GET_TASKS_task_state: 'TASK_RUNNING',
          GET_TASKS_classid: classid,
          GET_STATE_classid: classid,
          GET_CONTAINERS_classid: classid,
          WAIT_NESTED_CONTAINER: 501,
        });
        expect(report.decoded.agent_id).toMatch(/-S0$/);
        expect(report.decoded.files).toEqual(
          expect.arrayContaining([
            '/frameworks/corral-local/executors/probe/runs/latest/stdout',
            '/frameworks/corral-local/executors/probe/runs/latest/stderr',
          ]),
        );
      }
    }, 120_000);
  },
);
