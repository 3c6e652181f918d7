import {
  findIsolatorDefinition,
  type IsolatorDefinition,
  type IsolatorManifest,
  validateManifest,
} from '@corral/core';
import { IsolatorPackageError } from './errors.ts';
import { type IsolatorSource, resolveEntry } from './sources.ts';

/** An isolator whose package is loaded and whose manifest provides it. */
export interface LoadedDefinition {
  readonly source: IsolatorSource;
  readonly definition: IsolatorDefinition;
}

const manifests = new Map<string, Promise<IsolatorManifest>>();

/** Imports a package once (several isolators may share one) and validates its default export. */
function loadManifest(source: IsolatorSource): Promise<IsolatorManifest> {
  const entry = resolveEntry(source);
  let manifest = manifests.get(entry);
  if (!manifest) {
    manifest = import(entry).then(
      (module: { default?: unknown }) => validateManifest(module.default, source.specifier),
      (error: unknown) => {
        throw new IsolatorPackageError(
          source.name,
          `importing package '${source.specifier}' failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      },
    );
    manifests.set(entry, manifest);
  }
  return manifest;
}

export async function loadDefinition(source: IsolatorSource): Promise<LoadedDefinition> {
  const manifest = await loadManifest(source);
  return { source, definition: findIsolatorDefinition(manifest, source.name, source.specifier) };
}
