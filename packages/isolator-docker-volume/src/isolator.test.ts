import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ContainerConfig, type ContainerID, silentLogger } from '@corral/core';
import { VolumePluginDouble } from '@corral/isolator-testkit/volume-plugin';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointStore } from './checkpoint.ts';
import { DockerVolumeIsolator } from './isolator.ts';
import { PluginClient } from './plugin/client.ts';

let dir: string;
let plugin: VolumePluginDouble;
const checkpointDir = () => join(dir, 'checkpoints');

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-docker-volume-'));
  plugin = await VolumePluginDouble.start({
    name: 'acme',
    socketDir: join(dir, 'sockets'),
    root: join(dir, 'volumes'),
  });
});
afterEach(async () => {
  await plugin.stop();
  rmSync(dir, { recursive: true, force: true });
});

function isolator(timeoutMs = 5_000): DockerVolumeIsolator {
  return new DockerVolumeIsolator({
    client: new PluginClient({
      dirs: { socketDirs: [join(dir, 'sockets')], specDirs: [] },
      timeoutMs,
    }),
    checkpoints: new CheckpointStore(checkpointDir()),
    logger: silentLogger,
    retryBaseMs: 50,
  });
}

const id = (value: string): ContainerID => ({ value });
function config(container: string, ...names: string[]): ContainerConfig {
  return {
    command_info: { value: 'true' },
    container_info: {
      volumes: names.map((name) => ({
        mode: name.startsWith('ro-') ? 'RO' : 'RW',
        container_path: `mnt/${name}`,
        source: { type: 'DOCKER_VOLUME', docker_volume: { driver: 'acme', name } },
      })),
    },
    directory: join(dir, 'sandboxes', container),
    runtime_directory: join(dir, 'run', container),
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('docker/volume', () => {
  it('creates a missing volume, mounts it with the container ID, and binds it', async () => {
    plugin.addVolume('ro-existing', { 'hello.txt': 'hi' });
    const made = isolator();
    const info = await made.prepare(id('c1'), config('c1', 'fresh', 'ro-existing'));
    expect(info?.clone_namespaces).toEqual(['mnt']);
    expect(info?.mounts).toEqual([
      {
        source: join(dir, 'volumes', 'fresh'),
        target: join(dir, 'sandboxes', 'c1', 'mnt', 'fresh'),
        flags: ['bind', 'rec'],
      },
      {
        source: join(dir, 'volumes', 'ro-existing'),
        target: join(dir, 'sandboxes', 'c1', 'mnt', 'ro-existing'),
        flags: ['bind', 'rec', 'rdonly'],
      },
    ]);
    // Create only for the volume Get did not find.
    expect(plugin.callsOf('VolumeDriver.Create').map((c) => c.body.Name)).toEqual(['fresh']);
    const [mountId] = plugin.mountedBy('fresh');
    expect(mountId).toMatch(/^[0-9a-f]{64}$/);
    expect(plugin.mountedBy('ro-existing')).toEqual([mountId]);
    expect(made.metrics()).toEqual({
      volumes_mounted: 2,
      unmounts_pending: 0,
      unmount_failures: 0,
    });

    await made.cleanup(id('c1'));
    expect(plugin.mountedBy('fresh')).toEqual([]);
    expect(plugin.callsOf('VolumeDriver.Unmount').map((c) => c.body.ID)).toEqual([
      mountId,
      mountId,
    ]);
    expect(readdirSync(checkpointDir())).toEqual([]);
    await made.cleanup(id('c1'));
    expect(plugin.callsOf('VolumeDriver.Unmount')).toHaveLength(2);
  });

  it('gives two containers of one volume a Mount and an Unmount each, with distinct IDs', async () => {
    const made = isolator();
    await Promise.all([
      made.prepare(id('a'), config('a', 'shared')),
      made.prepare(id('b'), config('b', 'shared')),
    ]);
    const ids = plugin.mountedBy('shared');
    expect(new Set(ids).size).toBe(2);
    await made.cleanup(id('a'));
    expect(plugin.mountedBy('shared')).toHaveLength(1);
    await made.cleanup(id('b'));
    expect(plugin.mountedBy('shared')).toEqual([]);
    expect(plugin.callsOf('VolumeDriver.Create')).toHaveLength(1);
  });

  it('unmounts with the original ID after a restart, and drops what nothing runs any more', async () => {
    await isolator().prepare(id('kept'), config('kept', 'v1'));
    await isolator().prepare(id('gone'), config('gone', 'v2'));
    const [kept] = plugin.mountedBy('v1');
    const restarted = isolator();
    // 'gone' is neither running nor an orphan the engine knows (its runtime dir was lost).
    await restarted.recover(
      [{ container_id: id('kept'), pid: 1, directory: '', runtime_directory: '' }],
      [],
    );
    await until(() => plugin.mountedBy('v2').length === 0);
    expect(plugin.mountedBy('v1')).toEqual([kept]);
    await restarted.cleanup(id('kept'));
    expect(plugin.callsOf('VolumeDriver.Unmount').at(-1)?.body).toEqual({ Name: 'v1', ID: kept });
    expect(readdirSync(checkpointDir())).toEqual([]);
  });

  it('recovers past an empty checkpoint: nothing was mounted before a complete one', async () => {
    new CheckpointStore(checkpointDir());
    writeFileSync(join(checkpointDir(), 'torn.json'), '');
    const made = isolator();
    await made.recover(
      [{ container_id: id('torn'), pid: 1, directory: '', runtime_directory: '' }],
      [],
    );
    await made.cleanup(id('torn'));
    expect(plugin.callsOf('VolumeDriver.Unmount')).toEqual([]);
  });

  it('retries a failed Unmount with backoff until the plugin takes it', async () => {
    const made = isolator();
    await made.prepare(id('c'), config('c', 'v'));
    plugin.fail('VolumeDriver.Unmount', { kind: 'error', message: 'device busy' }, 2);
    await expect(made.cleanup(id('c'))).rejects.toThrow(/acme\/v: .*device busy/);
    expect(made.metrics().unmounts_pending).toBe(1);
    expect(existsSync(join(checkpointDir(), 'c.json'))).toBe(true);
    await until(() => plugin.mountedBy('v').length === 0);
    await until(() => made.metrics().unmounts_pending === 0);
    expect(made.metrics().unmount_failures).toBe(2);
    expect(existsSync(join(checkpointDir(), 'c.json'))).toBe(false);
  });

  it('fails a launch on a hung plugin after the timeout, leaving nothing mounted', async () => {
    const made = isolator(300);
    plugin.fail('VolumeDriver.Mount', { kind: 'hang' });
    await expect(made.prepare(id('h'), config('h', 'v'))).rejects.toThrow(
      /got no answer within 0.3 s/,
    );
    // The Mount may have happened: it was given back with the same ID.
    expect(plugin.callsOf('VolumeDriver.Unmount')).toHaveLength(1);
    expect(plugin.mountedBy('v')).toEqual([]);
    expect(readdirSync(checkpointDir())).toEqual([]);
    await made.cleanup(id('h'));
  });

  it('gives back the volumes already mounted when a later one is refused', async () => {
    const made = isolator();
    plugin.addVolume('good');
    // Whichever Mount comes first is refused; the other, if it got through, is given back.
    plugin.fail('VolumeDriver.Mount', { kind: 'error', message: 'quota exceeded' });
    await expect(made.prepare(id('p'), config('p', 'good', 'bad'))).rejects.toThrow(
      /quota exceeded/,
    );
    expect(plugin.mountedBy('good')).toEqual([]);
    expect(plugin.mountedBy('bad')).toEqual([]);
    expect(readdirSync(checkpointDir())).toEqual([]);
  });
});
