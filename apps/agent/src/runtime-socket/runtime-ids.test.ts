import { validateContainerId } from '@corral/core';
import { describe, expect, it } from 'vitest';
import { InvalidRuntimeIdError } from './errors.ts';
import { containerIdForRuntimeId } from './runtime-ids.ts';

describe('containerIdForRuntimeId', () => {
  it("maps Slurm's dotted ids to readable, valid Corral ids", () => {
    const id = containerIdForRuntimeId('node1.alice.42.0.0');
    expect(id.value).toMatch(/^oci-node1_alice_42_0_0-[0-9a-f]{12}$/);
    expect(() => validateContainerId(id)).not.toThrow();
  });

  it('keeps ids apart that differ only in replaced characters', () => {
    expect(containerIdForRuntimeId('a.b').value).not.toBe(containerIdForRuntimeId('a_b').value);
  });

  it('is the same id every time, so every verb finds the container', () => {
    expect(containerIdForRuntimeId('x y')).toEqual(containerIdForRuntimeId('x y'));
  });

  it('stays within the Corral limit for long ids', () => {
    const id = containerIdForRuntimeId('n'.repeat(1000));
    expect(() => validateContainerId(id)).not.toThrow();
  });

  it.each([[''], ['a/b'], ['a\nb'], ['x'.repeat(1025)]])('refuses %j', (runtimeId) => {
    expect(() => containerIdForRuntimeId(runtimeId)).toThrow(InvalidRuntimeIdError);
  });
});
