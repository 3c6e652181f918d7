import { readdirSync, readFileSync } from 'node:fs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, expect, it } from 'vitest';
import { FULL, launchCall, Scenario, stopContainer } from './harness.ts';

const CYCLES = FULL ? 20_000 : 1_000;
const CONCURRENCY = 4;

let scenario: Scenario | undefined;
afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

function resources(pid: number, scenarioRoot: string) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    fds: readdirSync(`/proc/${pid}/fd`).length,
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes(scenarioRoot)).length,
  };
}

describeOnKernel('soak', { root: true, cgroup2: true, cgroupSubsystems: ['net_cls'] }, () => {
  it(`${CYCLES} launch/destroy cycles: no growth of fds, cgroups, mounts or handles`, async () => {
    scenario = new Scenario();
    // A small old space makes V8 collect instead of growing into the machine's free memory, so
    // RSS measures what the agent keeps; a real leak would end in an out-of-memory crash.
    const agent = await scenario.start({ NODE_OPTIONS: '--max-old-space-size=128' });
    const pid = agent.child.pid ?? 0;
    const cycles = async (prefix: string, count: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let cycle = next++; cycle < count; cycle = next++) {
            const response = await agent.call(launchCall(`${prefix}-${cycle}`, 'true'));
            expect(response.status).toBe(200);
            await stopContainer(agent, `${prefix}-${cycle}`);
          }
        }),
      );
    };
    // Warm up at the same concurrency, so the baseline holds the lazily created things (HTTP
    // keep-alive connections, the spawner, pools, JIT) that the soak itself reuses. The agent's
    // RSS climbs for its first ~1,000 cycles (JIT code and allocator arenas; the heap itself
    // stays flat, as snapshots show), then holds: the baseline is taken after that.
    await cycles('warm', 1_000);
    const before = resources(pid, scenario.root);
    const started = performance.now();
    await cycles('soak-a', CYCLES / 2);
    const halfway = resources(pid, scenario.root);
    await cycles('soak-b', CYCLES / 2);
    const seconds = (performance.now() - started) / 1000;
    const after = resources(pid, scenario.root);
    console.log(
      `soak: ${CYCLES} cycles in ${seconds.toFixed(1)} s; fds ${before.fds} -> ${halfway.fds} -> ${after.fds}; ` +
        `RSS ${before.rssKb} -> ${halfway.rssKb} -> ${after.rssKb} KB; mounts ${before.mounts} -> ${after.mounts}`,
    );
    // A leak per container would add hundreds; the client's keep-alive pool may hold a
    // connection more or fewer at the moment of reading.
    expect(after.fds).toBeLessThanOrEqual(before.fds + 2);
    expect(after.mounts).toBe(before.mounts);
    // The heap settles after the first half; a leak keeps growing in the second. Allowance:
    // 1 KB per cycle of the second half, or 8 MB of allocator noise.
    expect(agent.child.exitCode).toBe(null);
    expect(after.rssKb - halfway.rssKb).toBeLessThan(Math.max(8_192, CYCLES / 2));
    expect(await scenario.invariants(agent)).toEqual([]);
    expect(readdirSync(`${scenario.workDir}/containers`)).toEqual([]);
  });
});
