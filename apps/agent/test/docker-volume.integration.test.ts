import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destroyCgroup, findCgroup2Mount, findV1Hierarchy } from '@corral/cgroupfs';
import { VolumePluginDouble } from '@corral/isolator-testkit/volume-plugin';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  agentDirFlags,
  type RunningAgent,
  recoveredState,
  startAgent,
  type WaitJson,
} from './agent-process.ts';

let dir: string;
let plugin: VolumePluginDouble;
const cgroupsRoot = `corral-test-${process.pid}-volumes`;
const agents: RunningAgent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-agent-volumes-'));
  plugin = await VolumePluginDouble.start({
    name: 'acme',
    socketDir: join(dir, 'plugins'),
    root: join(dir, 'volumes'),
    tmpfs: true,
  });
});

afterAll(async () => {
  for (const agent of agents) await agent.stop('SIGKILL');
  await plugin?.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const hierarchy of [findCgroup2Mount(), findV1Hierarchy('freezer')]) {
    if (hierarchy) await destroyCgroup(hierarchy, cgroupsRoot, { timeoutMs: 10_000 });
  }
});

async function start(): Promise<RunningAgent> {
  const agent = await startAgent([
    ...agentDirFlags(dir, cgroupsRoot),
    '--isolation=docker/volume,posix/cpu',
    `--docker_volume_plugin_dirs=${join(dir, 'plugins')}`,
    `--docker_volume_checkpoint_dir=${join(dir, 'checkpoints')}`,
  ]);
  agents.push(agent);
  await recoveredState(agent);
  return agent;
}

describeOnKernel('docker/volume through the agent', { root: true, cgroup2: true }, () => {
  it('unmounts with the original ID when a container that outlived an agent crash is killed', async () => {
    plugin.addVolume('kept', { 'file.txt': 'kept data' });
    const first = await start();
    const launched = await first.call({
      type: 'LAUNCH_CONTAINER',
      launch_container: {
        container_id: { value: 'survivor' },
        command: { value: 'cat data/file.txt; exec sleep 300' },
        container: {
          type: 'MESOS',
          volumes: [
            {
              mode: 'RO',
              container_path: 'data',
              source: { type: 'DOCKER_VOLUME', docker_volume: { driver: 'acme', name: 'kept' } },
            },
          ],
        },
      },
    });
    expect(launched.status, await launched.text()).toBe(200);
    const [mountId] = plugin.mountedBy('kept');
    expect(mountId).toBeDefined();
    await first.stop('SIGKILL');

    const second = await start();
    const killed = await second.call({
      type: 'KILL_CONTAINER',
      kill_container: { container_id: { value: 'survivor' } },
    });
    expect(killed.status).toBe(200);
    const waited = await second.call({
      type: 'WAIT_CONTAINER',
      wait_container: { container_id: { value: 'survivor' } },
    });
    expect(((await waited.json()) as WaitJson).wait_container.state).toBe('TASK_KILLED');
    expect(plugin.callsOf('VolumeDriver.Mount').map((call) => call.body)).toEqual([
      { Name: 'kept', ID: mountId },
    ]);
    expect(plugin.callsOf('VolumeDriver.Unmount').map((call) => call.body)).toEqual([
      { Name: 'kept', ID: mountId },
    ]);
    expect(plugin.mountedBy('kept')).toEqual([]);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([]);
    const logs = await second.get('/containers/logs?container_id=survivor');
    expect(await logs.text()).toBe('kept data');
    await second.stop('SIGTERM');
  });
});
