import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containerizer } from '@corral/containerizer';
import {
  type ContainerConfig,
  type ContainerTermination,
  type Isolator,
  type NetworkInfo,
  silentLogger,
} from '@corral/core';
import { describeOnHost } from '@corral/isolator-testkit';
import { createLauncher, type LinuxLauncher } from '@corral/launcher';
import { recordTerminations } from '@corral/test-support/terminations';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { networkCni } from '../src/index.ts';

/*
 * These tests run in network and mount namespaces of their own (the package's test script wraps
 * vitest in scripts/in-own-network.sh): the bridge, veths, addresses (198.18.0.0/24, a benchmark
 * range) and iptables rules exist only there. Under CI=true they run; without root they skip.
 */

const FAKE_PLUGINS = new URL('./fake-plugins', import.meta.url).pathname;
const DEBIAN_PLUGINS = '/usr/lib/cni';

class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'corral-cni-it-'));
  readonly cgroupsRoot = `corral-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  readonly launcher = createLauncher({
    kind: 'linux',
    cgroupsRoot: this.cgroupsRoot,
  }) as LinuxLauncher;
  containerizer!: Containerizer;
  ended!: (value: string) => Promise<ContainerTermination>;
  readonly log = join(this.dir, 'plugin.log');

  constructor() {
    mkdirSync(join(this.dir, 'net.d'));
    // bridge + host-local, chained into portmap, firewall and a plugin that records prevResult.
    this.network('blue.conflist', {
      cniVersion: '1.0.0',
      name: 'blue',
      plugins: [
        {
          type: 'bridge',
          bridge: 'corral-blue',
          isGateway: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '198.18.0.0/24' }]],
            dataDir: join(this.dir, 'ipam'),
          },
          dns: { nameservers: ['198.18.0.1'], search: ['corral.test'] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'firewall' },
        { type: 'record', log: this.log },
      ],
    });
    this.network('slow.conflist', {
      cniVersion: '1.0.0',
      name: 'slow',
      plugins: [
        { type: 'record', log: this.log },
        { type: 'hang', log: this.log },
      ],
    });
  }

  network(file: string, config: unknown): void {
    writeFileSync(join(this.dir, 'net.d', file), JSON.stringify(config));
  }

  /** network/cni as the agent creates it, over this world's directories. */
  async isolator(timeoutSeconds = 10): Promise<Isolator> {
    const runtimeDir = join(this.dir, 'runtime');
    return await networkCni.create(
      {
        network_cni_config_dir: join(this.dir, 'net.d'),
        network_cni_plugins_dir: `${DEBIAN_PLUGINS}:${FAKE_PLUGINS}`,
        network_cni_root_dir: join(this.dir, 'persist'),
        network_cni_plugin_timeout: timeoutSeconds,
      },
      {
        name: networkCni.name,
        logger: silentLogger,
        runtimeDir: join(runtimeDir, 'isolators', 'network', 'cni'),
        cgroups: { hierarchy: '/sys/fs/cgroup', root: this.cgroupsRoot },
        agent: { workDir: join(this.dir, 'work'), runtimeDir },
      },
    );
  }

  async start(timeoutSeconds = 10): Promise<Containerizer> {
    const runtimeDir = join(this.dir, 'runtime');
    const isolator = await this.isolator(timeoutSeconds);
    const containerizer = new Containerizer({
      runtimeDir,
      launcher: this.launcher,
      isolators: [{ name: networkCni.name, isolator }],
      logger: silentLogger,
    });
    this.containerizer = containerizer;
    this.ended = recordTerminations(containerizer);
    await this.containerizer.recover();
    return this.containerizer;
  }

  sandbox(name: string): string {
    return join(this.dir, 'work', name);
  }

  async launch(
    name: string,
    command: string,
    networks: readonly NetworkInfo[] = [{ name: 'blue' }],
  ) {
    const config: Omit<ContainerConfig, 'runtime_directory'> = {
      command_info: { value: command },
      container_info: { network_infos: networks },
      directory: this.sandbox(name),
    };
    await this.containerizer.launch({ value: name }, config);
    return { ended: this.ended(name) };
  }

  async address(name: string): Promise<string> {
    const status = await this.containerizer.status({ value: name });
    const ip = status.network_infos?.[0]?.ip_addresses?.[0]?.ip_address;
    if (!ip) throw new Error(`no address for ${name}: ${JSON.stringify(status)}`);
    return ip;
  }

  stdout(name: string): string {
    const file = join(this.sandbox(name), 'stdout');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  logLines(command: string): string[] {
    return existsSync(this.log)
      ? readFileSync(this.log, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith(`${command} `))
      : [];
  }

  /** What a leak would look like: veths, netns handles, leases, rules, checkpoints. */
  leftovers(): string[] {
    const links = execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], {
      encoding: 'utf8',
    }).trim();
    const netnsFds = heldNetns();
    const leases = existsSync(join(this.dir, 'ipam', 'blue'))
      ? readdirSync(join(this.dir, 'ipam', 'blue')).filter((f) => /^\d/.test(f))
      : [];
    const rules = execFileSync('iptables-save', { encoding: 'utf8' })
      .split('\n')
      // Per-container rules (portmap's own chains and jumps, made once per host, stay by design).
      .filter(
        (line) => line.startsWith('-A') && /CNI-DN-|id: \\"|CNI-FORWARD .*198\.18\.0\./.test(line),
      );
    const persisted = existsSync(join(this.dir, 'persist'))
      ? readdirSync(join(this.dir, 'persist'))
      : [];
    return [
      ...(links ? [`veths: ${links}`] : []),
      ...netnsFds.map((fd) => `netns fd: ${fd}`),
      ...leases.map((lease) => `lease ${lease}`),
      ...rules.map((rule) => `rule ${rule}`),
      ...persisted.map((entry) => `checkpoint ${entry}`),
    ];
  }

  async dispose(): Promise<void> {
    if (this.containerizer) {
      await Promise.allSettled(
        this.containerizer.list().map((id) => this.containerizer.destroy(id)),
      );
    }
    const root = join(await this.launcher.hierarchy(), this.cgroupsRoot);
    if (existsSync(root)) rmdirSync(root);
    execFileSync('sh', ['-c', 'ip link del corral-blue 2>/dev/null || true']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Descriptors of this process (the agent here) that hold a network namespace not its own. */
function heldNetns(): string[] {
  const own = readlinkSync('/proc/self/ns/net');
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith('net:[') && target !== own;
    } catch {
      return false; // Closed while listing (the directory's own fd).
    }
  });
}

/** Connects to `host:port` and resolves with what the peer sent before closing. */
function fetchLine(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: 5_000 });
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('end', () => resolve(data));
    socket.on('timeout', () => socket.destroy(new Error(`no answer from ${host}:${port}`)));
    socket.on('error', reject);
  });
}

const SERVE = (port: number, reply: string) =>
  `exec node -e 'require("net").createServer(s=>s.end(${JSON.stringify(reply)})).listen(${port})'`;

const waitFor = async (check: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 100; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describeOnHost(
  'network/cni with Debian CNI plugins',
  { root: true, linux: true, namespaces: ['net', 'uts', 'mnt'] },
  () => {
    let world: World;
    beforeEach(() => {
      world = new World();
    });
    afterEach(async () => {
      await world.dispose();
    });

    it('gives two containers distinct addresses on a bridge; one reaches the other over TCP', async () => {
      await world.start();
      await world.launch('server', SERVE(7000, 'hello from the server'));
      const serverIp = await world.address('server');
      const { ended } = await world.launch(
        'client',
        `sleep 0.2; node -e 'const s=require("net").connect(7000,"${serverIp}");s.pipe(process.stdout)'; hostname; cat /etc/hosts /etc/resolv.conf; ip -o link show lo`,
      );
      const clientIp = await world.address('client').catch(() => 'exited');
      expect((await ended).state).toBe('TASK_FINISHED');
      expect(serverIp).toMatch(/^198\.18\.0\.\d+$/);
      expect(clientIp).not.toBe(serverIp);
      const out = world.stdout('client');
      expect(out).toContain('hello from the server');
      expect(out).toContain('client\n127.0.0.1\tlocalhost\n');
      expect(out).toMatch(/198\.18\.0\.\d+\tclient/);
      expect(out).toContain('search corral.test\nnameserver 198.18.0.1\n');
      expect(out).toMatch(/lo: <LOOPBACK,UP,LOWER_UP>/);
      // The host's /etc was never written.
      expect(readFileSync('/etc/hosts', 'utf8')).not.toContain('198.18.0.');
      // A container without network_infos keeps the host's network.
      const { ended: hostEnded } = await world.launch('host', 'readlink /proc/self/ns/net', []);
      await hostEnded;
      expect(world.stdout('host').trim()).toBe(
        execFileSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).trim(),
      );
      await world.containerizer.destroy({ value: 'server' });
      expect(world.leftovers()).toEqual([]);
    });

    it('forwards a host port through portmap, and refuses the same host port twice', async () => {
      await world.start();
      const mapping = [
        { name: 'blue', port_mappings: [{ host_port: 18080, container_port: 7000 }] },
      ];
      await world.launch('web', SERVE(7000, 'through the port map'), mapping);
      // The gateway address is this (test) namespace's own: OUTPUT DNAT applies to it.
      await waitFor(
        async () => (await fetchLine('198.18.0.1', 18080)) === 'through the port map',
        'the port map',
      );
      await expect(world.launch('web2', SERVE(7000, 'x'), mapping)).rejects.toThrow(
        "'container.network_infos[0].port_mappings' is invalid: host port 18080/tcp is already forwarded to container 'web'",
      );
      // While it runs, the probe sees its veth, netns handle, lease, rules and checkpoint.
      const held = world.leftovers().join('\n');
      for (const kind of ['veths:', 'netns fd:', 'lease ', 'rule ', 'checkpoint web'])
        expect(held).toContain(kind);
      await world.containerizer.destroy({ value: 'web' });
      expect(world.leftovers()).toEqual([]);
      // Freed with the container: the port can be used again.
      await world.launch('web3', SERVE(7000, 'again'), mapping);
      await waitFor(
        async () => (await fetchLine('198.18.0.1', 18080)) === 'again',
        'the reused port',
      );
    });

    it('chains plugins with prevResult on ADD and DEL, for an id CNI would refuse', async () => {
      await world.start();
      await world.launch('job:42@node', 'sleep 300');
      const ip = await world.address('job:42@node');
      await world.containerizer.destroy({ value: 'job:42@node' });
      const [add] = world.logLines('ADD');
      const [del] = world.logLines('DEL');
      expect(add).toMatch(/^ADD corral-[0-9a-f]{32} netns=\S+/);
      expect(add).toContain(`"prevResult":`);
      expect(add).toContain(`"address":"${ip}/24"`);
      expect(del).toContain(`"address":"${ip}/24"`);
      expect(world.leftovers()).toEqual([]);
    });

    it('fails a launch on a hung plugin at the timeout, naming it, and still runs DEL', async () => {
      await world.start(1);
      const started = performance.now();
      await expect(world.launch('stuck', 'touch ran', [{ name: 'slow' }])).rejects.toThrow(
        /attaching eth0 to network 'slow': the plugin '.*\/hang' did not finish ADD within 1 s/,
      );
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(world.logLines('DEL')).toHaveLength(1);
      expect(existsSync(join(world.sandbox('stuck'), 'ran'))).toBe(false);
      // The plugin's child died with its process group.
      const [child] = world.logLines('CHILD').map((line) => Number(line.split(' ')[1]));
      expect(child).toBeGreaterThan(0);
      // Gone, or a zombie waiting for pid 1 to reap it: not running either way.
      const state = existsSync(`/proc/${child}/stat`)
        ? readFileSync(`/proc/${child}/stat`, 'utf8').replace(/^.*\) /, '')[0]
        : 'gone';
      expect(['gone', 'Z']).toContain(state);
      expect(world.leftovers()).toEqual([]);
    });

    it('releases the lease of a container lost in a reboot, DEL without a netns', async () => {
      // The isolator alone, around a process in a netns of its own: no engine to react to its end.
      const isolator = await world.isolator();
      const child = spawn('unshare', ['--net', '--uts', '--mount', 'sleep', '300'], {
        stdio: 'ignore',
      });
      await waitFor(
        async () => readlinkSync(`/proc/${child.pid}/ns/net`) !== readlinkSync('/proc/self/ns/net'),
        'the netns',
      );
      const id = { value: 'lost' };
      const config = {
        command_info: { value: 'sleep 300' },
        container_info: { network_infos: [{ name: 'blue' }] },
        directory: world.sandbox('lost'),
        runtime_directory: join(world.dir, 'runtime', 'containers', 'lost'),
      };
      await isolator.prepare?.(id, config);
      await isolator.isolate?.(id, child.pid as number);
      const ip = (await isolator.status?.(id))?.network_infos?.[0]?.ip_addresses?.[0]?.ip_address;
      expect(readdirSync(join(world.dir, 'ipam', 'blue'))).toContain(ip);
      // A reboot: the process and its mounts are gone, the runtime dir with them; the work dir stays.
      child.kill('SIGKILL');
      for (const fd of heldNetns()) closeSync(Number(fd));
      rmSync(join(world.dir, 'runtime'), { recursive: true, force: true });
      const rebooted = await world.isolator();
      await rebooted.recover?.([], []);
      expect(world.logLines('DEL').at(-1)).toMatch(/^DEL lost netns=none /);
      expect(world.leftovers()).toEqual([]);
    });
  },
);
