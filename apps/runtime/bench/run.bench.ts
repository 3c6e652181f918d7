/**
 * `corral-runc run` of a trivial bundle against `crun run` of the same bundle, interleaved, on
 * an agent of our own. Also measured, to split corral-runc's time: Node's own start-up, and the
 * same `run` sent from inside this process (what a native front-end would pay).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, interleave } from '@corral/test-support/bench';
import { call } from '../src/client.ts';
import { cleanUpAgents, makeBundle, ociConfig, RUNC_BIN, startAgent } from '../test/harness.ts';

const ROUNDS = Number(process.env.CORRAL_BENCH_ROUNDS ?? 100);

async function timed(command: string, args: readonly string[]): Promise<number> {
  const began = performance.now();
  const child = spawn(command, args, { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return performance.now() - began;
}

const dir = mkdtempSync(join(tmpdir(), 'corral-runc-bench-'));
try {
  const agent = await startAgent({ primaryHandle: '0x54' });
  const bundle = makeBundle(
    dir,
    'bundle',
    ociConfig(['true'], { linux: { namespaces: [{ type: 'ipc' }] } }),
  );
  // crun refuses this hybrid host unless its cgroup2 mount is hidden (see the integration test):
  // the wrapper costs its own time, measured alone as `wrapper`.
  const hide = existsSync('/sys/fs/cgroup/unified')
    ? 'mount -t tmpfs none /sys/fs/cgroup/unified && '
    : '';
  const wrapped = (command: string) => [
    '-m',
    '--propagation',
    'private',
    'sh',
    '-c',
    `${hide}exec ${command}`,
  ];
  let round = 0;
  const results = await interleave(
    {
      'corral-runc run': () =>
        timed(process.execPath, [
          RUNC_BIN,
          '--agent',
          agent.socket,
          'run',
          '-b',
          bundle,
          `bench.c.${round++}`,
        ]),
      'crun run (in wrapper)': () =>
        timed(
          'unshare',
          wrapped(
            `crun --cgroup-manager=disabled --root ${join(dir, 'crun')} run --bundle ${bundle} bench-${round++}`,
          ),
        ),
      wrapper: () => timed('unshare', wrapped('true')),
      'node -e 0 (start-up floor)': () => timed(process.execPath, ['-e', '0']),
      'run over the socket, in-process': async () => {
        const began = performance.now();
        const exchange = await call(agent.socket, {
          verb: 'run',
          id: `bench.i.${round++}`,
          bundle,
          config: ociConfig(['true'], { linux: { namespaces: [{ type: 'ipc' }] } }),
        });
        for await (const reply of exchange.replies) {
          if (reply.type === 'exit' || reply.type === 'error') break;
        }
        return performance.now() - began;
      },
    },
    ROUNDS,
  );
  for (const [name, summary] of Object.entries(results)) console.log(formatSummary(name, summary));
} finally {
  await cleanUpAgents();
  rmSync(dir, { recursive: true, force: true });
}
