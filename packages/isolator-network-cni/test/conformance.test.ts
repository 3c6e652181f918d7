import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerIdToString } from '@corral/core';
import { describeIsolatorConformance } from '@corral/isolator-testkit';
import manifest from '../src/index.ts';

// Runs inside the package's own network namespace (scripts/in-own-network.sh), like the
// integration tests: the bridge and addresses exist only there.
const dir = mkdtempSync(join(tmpdir(), 'corral-cni-conformance-'));
mkdirSync(join(dir, 'net.d'));
writeFileSync(
  join(dir, 'net.d', 'kit.conflist'),
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'kit',
    plugins: [
      {
        type: 'bridge',
        bridge: 'corral-kit',
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: '198.19.0.0/24' }]],
          dataDir: join(dir, 'ipam'),
        },
      },
    ],
  }),
);

const joinKit =
  (mode: unknown) =>
  ({ directory, runtime_directory }: { directory: string; runtime_directory: string }) =>
    ({
      command_info: { value: 'sleep 3600' },
      container_info: { network_infos: [{ name: mode }] },
      directory,
      runtime_directory,
    }) as never;

describeIsolatorConformance(manifest, {
  source: '@corral/isolator-network-cni',
  packageJson: new URL('../package.json', import.meta.url),
  flags: {
    network_cni_config_dir: join(dir, 'net.d'),
    network_cni_plugins_dir: '/usr/lib/cni',
    network_cni_root_dir: join(dir, 'persist'),
  },
  config: joinKit('kit'),
  invalidConfig: joinKit('no-such-network'),
  // The init the engine would make: a process in network, UTS and mount namespaces of its own.
  spawnInit: async () => {
    const child: ChildProcess = spawn('unshare', ['--net', '--uts', '--mount', 'sleep', '3600'], {
      stdio: 'ignore',
    });
    await once(child, 'spawn');
    const pid = child.pid as number;
    const own = readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 200 && readlinkSync(`/proc/${pid}/ns/net`) === own; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const exited = once(child, 'exit');
    return {
      pid,
      async stop() {
        child.kill('SIGKILL');
        await exited;
      },
    };
  },
  holdsResources: true,
  // What the isolator holds for a container: its DEL inputs and its /etc files.
  probe: (id, { context }) => {
    const key = containerIdToString(id);
    return [join(dir, 'persist', key), join(context.runtimeDir, 'etc', key)].filter((path) =>
      existsSync(path),
    );
  },
});
