import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VolumePluginDouble } from '@corral/isolator-testkit/volume-plugin';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VolumePluginError } from '../errors.ts';
import { PluginClient, PluginReplyError } from './client.ts';
import { discoverPlugin } from './discovery.ts';

let dir: string;
let plugin: VolumePluginDouble;
const sockets = () => join(dir, 'sockets');
const specs = () => join(dir, 'specs');

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'corral-plugin-client-'));
  plugin = await VolumePluginDouble.start({
    name: 'acme',
    socketDir: sockets(),
    root: join(dir, 'volumes'),
  });
});
afterEach(async () => {
  await plugin.stop();
  rmSync(dir, { recursive: true, force: true });
});

const client = (timeoutMs = 5_000) =>
  new PluginClient({ dirs: { socketDirs: [sockets()], specDirs: [specs()] }, timeoutMs });

describe('discoverPlugin', () => {
  it('finds <name>.sock, then <name>/<name>.sock, then .spec and .json files', () => {
    const dirs = { socketDirs: [sockets()], specDirs: [specs()] };
    expect(discoverPlugin('acme', dirs)).toEqual({
      kind: 'unix',
      path: join(sockets(), 'acme.sock'),
    });
    mkdirSync(specs());
    writeFileSync(join(specs(), 'remote.spec'), 'tcp://127.0.0.1:9999\n');
    expect(discoverPlugin('remote', dirs)).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 9999 });
    writeFileSync(join(specs(), 'j.json'), JSON.stringify({ Name: 'j', Addr: 'unix:///x/j.sock' }));
    expect(discoverPlugin('j', dirs)).toEqual({ kind: 'unix', path: '/x/j.sock' });
    writeFileSync(join(specs(), 'tls.json'), JSON.stringify({ Addr: 'tcp://h:1', TLSConfig: {} }));
    expect(() => discoverPlugin('tls', dirs)).toThrow(/asks for TLS/);
    writeFileSync(join(specs(), 'bad.spec'), 'http://nowhere');
    expect(() => discoverPlugin('bad', dirs)).toThrow(
      /expected unix:\/\/\/path\/to.sock or tcp:\/\/host:port/,
    );
    expect(() => discoverPlugin('missing', dirs)).toThrow(
      /no volume plugin 'missing' found \(looked for .*missing.sock, .*missing.\{spec,json\}\)/,
    );
  });
});

describe('PluginClient', () => {
  it('activates once, then speaks VolumeDriver with the plugin media type', async () => {
    const made = client();
    await expect(made.call('acme', 'Create', { Name: 'v', Opts: { a: 'b' } })).resolves.toEqual({
      Err: '',
    });
    const mounted = await made.call('acme', 'Mount', { Name: 'v', ID: 'id1' });
    expect(mounted.Mountpoint).toBe(join(dir, 'volumes', 'v'));
    expect(plugin.calls.map((call) => call.method)).toEqual([
      'Plugin.Activate',
      'VolumeDriver.Create',
      'VolumeDriver.Mount',
    ]);
    expect(plugin.mountedBy('v')).toEqual(['id1']);
  });

  it('turns an Err reply, with status 500 or 200, into a PluginReplyError with its words', async () => {
    const made = client();
    const missing = await made.call('acme', 'Get', { Name: 'nope' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PluginReplyError);
    expect((missing as PluginReplyError).reply).toBe('no such volume: nope');
    plugin.fail('VolumeDriver.List', { kind: 'error', message: 'busy', status: 200 });
    await expect(made.call('acme', 'List', {})).rejects.toThrow(
      "Volume plugin 'acme': VolumeDriver.List failed: busy",
    );
  });

  it('retries a plugin that refuses connections, within the timeout', async () => {
    const made = client();
    await made.call('acme', 'List', {});
    await plugin.refuseConnections(600);
    const started = performance.now();
    await made.call('acme', 'List', {});
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
  });

  it('gives up on a hung plugin at the timeout, naming the flag', async () => {
    plugin.fail('VolumeDriver.Mount', { kind: 'hang' });
    const made = client(300);
    const started = performance.now();
    const error = await made.call('acme', 'Mount', { Name: 'v', ID: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VolumePluginError);
    expect(error).not.toBeInstanceOf(PluginReplyError);
    expect((error as Error).message).toMatch(
      /got no answer within 0.3 s \(--docker_volume_timeout\)/,
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('fails the call when activation fails', async () => {
    plugin.fail('Plugin.Activate', { kind: 'error', message: 'nope' });
    await expect(client().call('acme', 'List', {})).rejects.toThrow(/Plugin.Activate failed: nope/);
  });
});
