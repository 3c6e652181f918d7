import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILING_COMMAND, type Faults, fakeDefinition, hostProbe } from '../test/fake-isolator.ts';
import { Bench, type ContainerProcess, type LifecycleOptions } from './harness.ts';
import {
  checkCleanupAfterFailedPrepare,
  checkCleanupUnknown,
  checkCreate,
  checkLifecycle,
  checkRecover,
} from './lifecycle-checks.ts';
import { type ContractRule, ContractViolationError, RULES } from './rules.ts';

const benches: Bench[] = [];
afterEach(async () => {
  for (const bench of benches.splice(0)) await bench.dispose();
});

function benchFor(host: Set<string>, faults: Faults = {}, options: Partial<LifecycleOptions> = {}) {
  const bench = new Bench(fakeDefinition(host, faults), {
    probe: hostProbe(host),
    holdsResources: true,
    invalidConfig: ({ directory, runtime_directory }) => ({
      command_info: { value: FAILING_COMMAND },
      directory,
      runtime_directory,
    }),
    ...options,
  });
  benches.push(bench);
  return bench;
}

async function violation(run: Promise<void>): Promise<ContractViolationError> {
  const error = await run.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ContractViolationError);
  return error as ContractViolationError;
}

describe('the lifecycle checks', () => {
  it('pass a well-behaved isolator, which leaves nothing on the host', async () => {
    const host = new Set<string>();
    await checkCreate(benchFor(host));
    await checkLifecycle(benchFor(host));
    await checkCleanupUnknown(benchFor(host));
    await checkCleanupAfterFailedPrepare(benchFor(host));
    await checkRecover(benchFor(host));
    expect(host).toEqual(new Set());
  });

  it.each<[string, Faults, (bench: Bench) => Promise<void>, ContractRule, RegExp]>([
    ['a leaky cleanup', { leakOnCleanup: true }, checkLifecycle, RULES.noLeftovers, /host entry/],
    [
      'a throwing cleanup of an unknown container',
      { throwOnUnknownCleanup: true },
      checkCleanupUnknown,
      RULES.cleanupUnknown,
      /cleanup\(never-prepared-[0-9a-f]+\) threw: Unknown container/,
    ],
    [
      'a prepare that fails without releasing',
      { leakOnFailedPrepare: true },
      checkCleanupAfterFailedPrepare,
      RULES.cleanupAfterFailedPrepare,
      /after the failed prepare and cleanup the probe still finds: host entry/,
    ],
    [
      'a recover that rebuilds nothing',
      { ignoreRecover: true },
      checkRecover,
      RULES.recover,
      /status\(running-[0-9a-f]+\) threw: Unknown container/,
    ],
    [
      'a launch info with a field the engine does not know',
      { badLaunchInfo: true },
      checkLifecycle,
      RULES.launchInfo,
      /set 'rootfs', which the engine does not know/,
    ],
    [
      'a watch that settles without a limit',
      { watchResolves: true },
      checkLifecycle,
      RULES.lifecycle,
      /watch\(lifecycle-[0-9a-f]+\) resolved with .* although the container hit no limit/,
    ],
    ['a create that throws', { createThrows: true }, checkCreate, RULES.create, /no host/],
  ])('catch %s', async (_, faults, check, rule, detail) => {
    const error = await violation(check(benchFor(new Set(), faults)));
    expect(error.rule).toBe(rule);
    expect(error.message).toMatch(`contract rule '${rule}' broken: `);
    expect(error.message).toMatch(detail);
  });

  it('catch a probe that cannot see a running container', async () => {
    const error = await violation(checkLifecycle(benchFor(new Set(), {}, { probe: () => [] })));
    expect(error.rule).toBe(RULES.probeSees);
    expect(error.message).toMatch(
      /the probe finds nothing for 'lifecycle-[0-9a-f]+' after isolate/,
    );
  });

  it('refuse an invalidConfig that does not make prepare fail', async () => {
    const bench = benchFor(
      new Set(),
      {},
      { invalidConfig: (paths) => ({ ...paths, command_info: {} }) },
    );
    const error = await violation(checkCleanupAfterFailedPrepare(bench));
    expect(error.message).toMatch(/succeeded with the config from 'invalidConfig'/);
  });
});

describe('the bench', () => {
  it('stops the processes and cleans up the containers a failed check left behind', async () => {
    const host = new Set<string>();
    const inits: ContainerProcess[] = [];
    const bench = new Bench(fakeDefinition(host, { watchResolves: true }), {
      probe: hostProbe(host),
      spawnInit: async () => {
        const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
        await once(child, 'spawn');
        const exited = once(child, 'exit');
        const init = {
          pid: child.pid ?? 0,
          stop: async () => {
            child.kill('SIGKILL');
            await exited;
          },
        };
        inits.push(init);
        return init;
      },
    });
    await violation(checkLifecycle(bench));
    expect(host.size).toBe(1);
    const pid = inits[0]?.pid ?? 0;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await bench.dispose();
    expect(host).toEqual(new Set());
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
