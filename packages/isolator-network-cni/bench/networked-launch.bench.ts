// Networked launches as their own class: `pnpm --filter @corral/isolator-network-cni bench`, run in
// network and mount namespaces of its own (scripts/in-own-network.sh). Interleaved in one run: a
// host-network launch, a launch on a bridge + host-local network, and the same plugin chain's ADD
// run directly against a bare network namespace (what the plugins alone cost); then destroy vs.
// the chain's DEL. Root needed. The runtime dir is on tmpfs (/dev/shm), as /run is on production
// hosts; the persistent root dir stays on disk.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containerizer } from '@corral/containerizer';
import { silentLogger } from '@corral/core';
import { createLauncher, type LinuxLauncher } from '@corral/launcher';
import { formatSummary, interleave, summarize } from '@corral/test-support/bench';
import { type AttachmentRecord, addChain, deleteChain, networkCni } from '../src/index.ts';

const ROUNDS = Number(process.env.CORRAL_BENCH_ROUNDS ?? 60);
const dir = mkdtempSync(join(tmpdir(), 'corral-cni-bench-'));
const shm = mkdtempSync('/dev/shm/corral-cni-bench-');
const cgroupsRoot = `corral-bench-${process.pid}`;
const network = {
  cniVersion: '1.0.0',
  name: 'bench',
  plugins: [
    {
      type: 'bridge',
      bridge: 'corral-bench',
      isGateway: true,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '198.18.8.0/22' }]],
        dataDir: join(dir, 'ipam'),
      },
    },
  ],
};
mkdirSync(join(dir, 'net.d'));
writeFileSync(join(dir, 'net.d', 'bench.conflist'), JSON.stringify(network));
const runner = { searchPath: ['/usr/lib/cni'], timeoutMs: 30_000 };
const launcher = createLauncher({ kind: 'linux', cgroupsRoot }) as LinuxLauncher;
const keepAlive = setInterval(() => undefined, 1_000);

try {
  const runtimeDir = join(shm, 'runtime');
  const isolator = await networkCni.create(
    {
      network_cni_config_dir: join(dir, 'net.d'),
      network_cni_plugins_dir: '/usr/lib/cni',
      network_cni_root_dir: join(dir, 'persist'),
      network_cni_plugin_timeout: 30,
    },
    {
      name: networkCni.name,
      logger: silentLogger,
      runtimeDir: join(runtimeDir, 'isolators', 'network', 'cni'),
      cgroups: { hierarchy: '/sys/fs/cgroup', root: cgroupsRoot },
      agent: { workDir: join(dir, 'work'), runtimeDir },
    },
  );
  const containerizer = new Containerizer({
    runtimeDir,
    launcher,
    isolators: [{ name: networkCni.name, isolator }],
    logger: silentLogger,
  });
  await containerizer.recover();
  // The kernel's share: the same namespaces as a networked container, and no network.
  const namespacesOnly = new Containerizer({
    runtimeDir: join(shm, 'runtime-ns'),
    launcher,
    isolators: [
      {
        name: 'bench/namespaces',
        isolator: { prepare: () => ({ clone_namespaces: ['net', 'uts', 'mnt'] as const }) },
      },
    ],
    logger: silentLogger,
  });
  await namespacesOnly.recover();

  let n = 0;
  const launched: { engine: Containerizer; value: string }[] = [];
  const launch =
    (networks: { name: string }[], engine = containerizer) =>
    async () => {
      const value = `c${n++}`;
      const started = performance.now();
      await engine.launch(
        { value },
        {
          command_info: { value: 'exec sleep 600' },
          container_info: { network_infos: networks },
          directory: join(dir, 'work', value),
        },
      );
      launched.push({ engine, value });
      return performance.now() - started;
    };
  const records: AttachmentRecord[] = [];
  const sleepers: ReturnType<typeof spawn>[] = [];
  /** The chain alone, into the netns of a process that has one of its own. */
  const directAdd = async () => {
    const sleeper = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
    sleepers.push(sleeper);
    const own = readlinkSync('/proc/self/ns/net');
    while (readlinkSync(`/proc/${sleeper.pid}/ns/net`) === own)
      await new Promise((r) => setTimeout(r, 1));
    const record: AttachmentRecord = {
      network: 'bench',
      cniVersion: '1.0.0',
      plugins: network.plugins,
      containerId: `direct-${n++}`,
      ifname: 'eth0',
      runtimeConfig: {},
      args: {},
      info: { name: 'bench' },
    };
    const netns = `/proc/${sleeper.pid}/ns/net`;
    const started = performance.now();
    const result = await addChain(record, netns, runner);
    const elapsed = performance.now() - started;
    records.push({ ...record, result });
    return elapsed;
  };
  const results = await interleave(
    {
      'host-network launch': launch([]),
      'launch in new net, uts and mnt namespaces, no network': launch([], namespacesOnly),
      'bridge + host-local launch': launch([{ name: 'bench' }]),
      'bridge + host-local ADD alone': directAdd,
    },
    ROUNDS,
  );
  for (const [name, summary] of Object.entries(results)) console.log(formatSummary(name, summary));
  const host = results['host-network launch']?.p50 ?? Number.NaN;
  const add = results['bridge + host-local ADD alone']?.p50 ?? Number.NaN;
  const networked = results['bridge + host-local launch']?.p50 ?? Number.NaN;
  console.log(
    `networked launch p50 ÷ (ADD p50 + host launch p50) = ${(networked / (add + host)).toFixed(2)} (target ≤ 1.2)`,
  );

  const destroys: number[] = [];
  for (const { engine, value } of launched) {
    const started = performance.now();
    await engine.destroy({ value });
    destroys.push(performance.now() - started);
  }
  console.log(formatSummary('destroy (all three kinds mixed)', summarize(destroys)));
  const deletes: number[] = [];
  for (const record of records) {
    const started = performance.now();
    await deleteChain(record, undefined, runner);
    deletes.push(performance.now() - started);
  }
  console.log(formatSummary('bridge + host-local DEL alone', summarize(deletes)));
  for (const sleeper of sleepers) sleeper.kill('SIGKILL');
} finally {
  clearInterval(keepAlive);
  execFileSync('sh', ['-c', 'ip link del corral-bench 2>/dev/null || true']);
  const root = join(await launcher.hierarchy(), cgroupsRoot);
  execFileSync('sh', ['-c', `rmdir ${root} 2>/dev/null || true`]);
  rmSync(dir, { recursive: true, force: true });
  rmSync(shm, { recursive: true, force: true });
}
