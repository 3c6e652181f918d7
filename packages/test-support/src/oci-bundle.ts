import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A bundle directory (world-readable) with `rootfs -> /` and this config.json. */
export function makeBundle(parent: string, name: string, config: unknown): string {
  const bundle = join(parent, name);
  mkdirSync(bundle, { recursive: true, mode: 0o755 });
  symlinkSync('/', join(bundle, 'rootfs'));
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config), { mode: 0o644 });
  return bundle;
}

/** A minimal runtime-spec config running `args` as root in `/`. */
export function ociConfig(args: readonly string[], extra: Record<string, unknown> = {}) {
  return {
    ociVersion: '1.0.2',
    process: {
      user: { uid: 0, gid: 0 },
      args,
      cwd: '/',
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
    },
    root: { path: 'rootfs' },
    mounts: [],
    linux: {},
    ...extra,
  };
}

/** What the tests read of an agent's `/containers` entry. */
export interface ContainerEntry {
  readonly container_id: string;
  readonly labels?: {
    readonly labels: readonly { readonly key: string; readonly value: string }[];
  };
  readonly status?: { readonly cgroup_info?: { readonly net_cls?: { readonly classid?: number } } };
}

/** The runtime id an entry carries (`corral.runtime.id`), if any. */
export function runtimeIdOf(entry: ContainerEntry | undefined): string | undefined {
  return entry?.labels?.labels.find((label) => label.key === 'corral.runtime.id')?.value;
}
