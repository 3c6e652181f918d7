import type { ContainerTermination } from '@corral/core';

/** What `recordTerminations` needs of a containerizer (structural, so this package needs no engine). */
export interface TerminationSource {
  onEvent(
    listener: (event: {
      readonly to: string;
      readonly id: { readonly value: string };
      readonly termination?: ContainerTermination;
    }) => void,
  ): unknown;
}

/**
 * Records every container's termination from the start and returns `ended(value)`, which
 * resolves with it even if the container ended already: `containerizer.wait()` forgets a container
 * once it is destroyed, which a short command can be before the test asks.
 */
export function recordTerminations(
  source: TerminationSource,
): (value: string) => Promise<ContainerTermination> {
  const terminations = new Map<string, ContainerTermination>();
  const waiters = new Map<string, (termination: ContainerTermination) => void>();
  source.onEvent((event) => {
    if (event.to !== 'TERMINATED' || event.termination === undefined) return;
    terminations.set(event.id.value, event.termination);
    waiters.get(event.id.value)?.(event.termination);
  });
  return (value) =>
    new Promise((resolve) => {
      const termination = terminations.get(value);
      if (termination) resolve(termination);
      else waiters.set(value, resolve);
    });
}
