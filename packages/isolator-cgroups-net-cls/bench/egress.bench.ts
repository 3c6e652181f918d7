// `pnpm bench:egress` (root, in a network namespace of its own): what egress accounting and
// shaping cost. (1) Per packet: iperf3 throughput of an unlimited sender in a net_cls cgroup over
// a veth, accounting on vs. off, interleaved; (2) reading the counters of 10,000 containers, and
// how long the event loop stalls meanwhile; (3) what the nft/tc work adds to a launch
// (`Egress.add`), for accounting only and with a shaping class. Prints numbers; asserts nothing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { prepareV1Hierarchy } from '@corral/cgroupfs';
import { formatSummary, summarize } from '@corral/test-support/bench';
import { Egress, type EgressShaping, egressTable, teardownEgress } from '../src/index.ts';
import { TestLink } from '../test/egress-helpers.ts';

const PRIMARY = 0x7af;
const TABLE = egressTable(PRIMARY);
const ROUNDS = Number(process.env.CORRAL_BENCH_ROUNDS ?? 3);
const CONTAINERS = 10_000;
const LAUNCHES = Number(process.env.CORRAL_BENCH_RUNS ?? 200);

const link = new TestLink(7);
const dir = mkdtempSync(join(tmpdir(), 'corral-egress-bench-'));
const hierarchy = await prepareV1Hierarchy('/sys/fs/cgroup', 'net_cls');
const cgroup = join(hierarchy, `corral-egress-bench-${process.pid}`);
mkdirSync(cgroup);
writeFileSync(join(cgroup, 'net_cls.classid'), String(PRIMARY * 0x1_0000 + 1));

const egressOf = (shaping?: EgressShaping) =>
  new Egress({
    table: TABLE,
    keys: { kind: 'netcls', primary: PRIMARY },
    accounting: true,
    shaping,
    stateFile: join(dir, 'egress.json'),
    maxAgeMs: 0,
  });

/** iperf3 from inside the net_cls cgroup for `seconds`; the receiver's goodput in bit/s. */
async function iperf(args: readonly string[], seconds: number): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', link.netns, 'iperf3', '-s', '-1', '-p', '5399'], {
    stdio: 'ignore',
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  try {
    const client = `echo $$ > ${cgroup}/cgroup.procs; exec iperf3 -c ${link.remote} -p 5399 -t ${seconds} -J ${args.join(' ')}`;
    const report = JSON.parse(execFileSync('sh', ['-c', client], { encoding: 'utf8' })) as {
      end: {
        sum_received?: { bits_per_second: number };
        sum?: { bits_per_second: number; lost_percent: number };
      };
    };
    return (
      report.end.sum_received?.bits_per_second ?? report.end.sum?.bits_per_second ?? Number.NaN
    );
  } finally {
    server.kill('SIGKILL');
  }
}

async function perPacket(): Promise<void> {
  const cases = {
    'TCP bulk': ['-O', '1'],
    'UDP 64 B, unpaced': ['-u', '-b', '0', '-l', '64'],
  } as const;
  for (const [name, args] of Object.entries(cases)) {
    const off: number[] = [];
    const on: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      off.push(await iperf(args, 3));
      const egress = egressOf();
      await egress.start([{ key: String(PRIMARY * 0x1_0000 + 1), minor: 1 }]);
      on.push(await iperf(args, 3));
      await teardownEgress(join(dir, 'egress.json'));
    }
    const med = (values: number[]) => summarize(values).p50;
    const unit = name.startsWith('UDP') ? 1e6 : 1e9;
    const label = name.startsWith('UDP') ? 'Mbit/s' : 'Gbit/s';
    console.log(
      `${name}, median of ${ROUNDS} x 3 s: accounting off ${(med(off) / unit).toFixed(2)} ${label}, ` +
        `on ${(med(on) / unit).toFixed(2)} ${label} (${((med(on) / med(off) - 1) * 100).toFixed(1)}%)`,
    );
  }
}

async function readTenThousand(): Promise<void> {
  const egress = egressOf();
  const keys = Array.from({ length: CONTAINERS }, (_, i) => PRIMARY * 0x1_0000 + 1 + i);
  await egress.start(keys.map((key, i) => ({ key: String(key), minor: i + 1 })));
  // The kernel would add these at each container's first packet; here nft adds them up front.
  const elements = keys.map((key) => `0x${key.toString(16).padStart(8, '0')}`).join(', ');
  execFileSync('nft', ['-f', '-'], { input: `add element inet ${TABLE} acct { ${elements} }\n` });
  const times: number[] = [];
  const stalls: number[] = [];
  for (let round = 0; round < 10; round++) {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    await egress.counters(String(keys[0]));
    times.push(performance.now() - started);
    delay.disable();
    stalls.push(delay.max / 1e6);
  }
  console.log(formatSummary(`read counters of ${CONTAINERS} containers`, summarize(times)));
  console.log(formatSummary('  longest event-loop stall during a read', summarize(stalls)));
  await teardownEgress(join(dir, 'egress.json'));
}

async function launchCost(): Promise<void> {
  const shaping: EgressShaping = { interfaces: [link.dev], primary: PRIMARY, leaf: 'bfifo' };
  for (const [name, egress, rate] of [
    ['accounting only', egressOf(), undefined],
    ['accounting + 20 Mbit/s class', egressOf(shaping), 20e6],
  ] as const) {
    await egress.start([]);
    const times: number[] = [];
    for (let i = 1; i <= LAUNCHES; i++) {
      const started = performance.now();
      await egress.add({ key: String(PRIMARY * 0x1_0000 + i), minor: i, rate });
      times.push(performance.now() - started);
    }
    for (let i = 1; i <= LAUNCHES; i++) await egress.remove(String(PRIMARY * 0x1_0000 + i));
    console.log(formatSummary(`launch time added by egress, ${name}`, summarize(times)));
    await teardownEgress(join(dir, 'egress.json'));
  }
}

try {
  await perPacket();
  await readTenThousand();
  await launchCost();
} finally {
  await teardownEgress(join(dir, 'egress.json'));
  link.delete();
  rmdirSync(cgroup);
  rmSync(dir, { recursive: true, force: true });
}
