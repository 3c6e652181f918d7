import type { FlagSpec, FlagSpecs } from '@corral/core';
import { UsageError } from './argv.ts';

/** A flag and who declares it: 'agent' or isolator names. */
export interface RegisteredFlag {
  readonly spec: FlagSpec<unknown>;
  readonly owners: readonly string[];
}

function sameDefault(a: FlagSpec<unknown>, b: FlagSpec<unknown>): boolean {
  return JSON.stringify(a.default) === JSON.stringify(b.default);
}

/**
 * Every flag the agent accepts with these isolators. Two owners may declare one flag only when
 * both mark it shared and agree on its default (e.g. `cgroups_root`); otherwise start-up fails.
 */
export function buildFlagRegistry(
  declarations: readonly { readonly owner: string; readonly flags: FlagSpecs | undefined }[],
): Map<string, RegisteredFlag> {
  const registry = new Map<string, RegisteredFlag>();
  for (const { owner, flags } of declarations) {
    for (const [name, spec] of Object.entries(flags ?? {})) {
      const existing = registry.get(name);
      if (!existing) {
        registry.set(name, { spec, owners: [owner] });
      } else if (existing.spec.shared && spec.shared && sameDefault(existing.spec, spec)) {
        registry.set(name, { spec: existing.spec, owners: [...existing.owners, owner] });
      } else {
        throw new UsageError(
          `Flag --${name} is declared by both ${existing.owners.map((o) => `'${o}'`).join(', ')} and '${owner}' with different meanings`,
        );
      }
    }
  }
  return registry;
}
