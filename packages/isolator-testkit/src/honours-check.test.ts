import { defineIsolator } from '@corral/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_HONOURS, type Faults, fakeDefinition, hostProbe } from '../test/fake-isolator.ts';
import { Bench } from './harness.ts';
import { checkHonours } from './honours-check.ts';
import { ContractViolationError, RULES } from './rules.ts';

const benches: Bench[] = [];
afterEach(async () => {
  for (const bench of benches.splice(0)) await bench.dispose();
});

function benchFor(faults: Faults, host = new Set<string>()): Bench {
  const bench = new Bench(fakeDefinition(host, faults), { probe: hostProbe(host) });
  benches.push(bench);
  return bench;
}

describe('the honours check', () => {
  it('passes an isolator whose prepare reads every field it declares, leaving nothing', async () => {
    const host = new Set<string>();
    await checkHonours(benchFor({}, host));
    expect(host).toEqual(new Set());
  });

  it('flags a declared field that prepare never reads, naming it', async () => {
    const error = await checkHonours(benchFor({ ignoresHonoured: true })).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ContractViolationError);
    expect((error as ContractViolationError).rule).toBe(RULES.honours);
    expect((error as Error).message).toContain(`honours '${FAKE_HONOURS[0]}'`);
    expect((error as Error).message).toMatch(/never read it/);
  });

  it('counts a read of a sub-field, and of a refused example, as reading the field', async () => {
    const definition = defineIsolator({
      name: 'fake/strict',
      description: 'Refuses every rlimit it is given',
      honours: ['container.rlimit_info'],
      create: () => ({
        prepare(_id, config) {
          if (config.container_info?.rlimit_info?.rlimits.length) throw new Error('no limits');
        },
      }),
    });
    const bench = new Bench(definition, { probe: () => [] });
    benches.push(bench);
    await checkHonours(bench);
  });

  it('asks for an example of a field Corral does not know, and uses the one given', async () => {
    const definition = defineIsolator({
      name: 'fake/custom',
      description: 'Honours a field of its own',
      honours: ['container.fake_units'],
      create: () => ({
        prepare(_id, config) {
          void (config.container_info as Record<string, unknown> | undefined)?.fake_units;
        },
      }),
    });
    const bench = () => {
      const made = new Bench(definition, { probe: () => [] });
      benches.push(made);
      return made;
    };
    await expect(checkHonours(bench())).rejects.toThrow(/give a value for it .*fieldExamples/);
    await checkHonours(bench(), { 'container.fake_units': 3 });
  });
});
