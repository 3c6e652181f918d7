import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A stand-in for a mounted hierarchy in unit tests: a temp directory in which cgroups are plain
 * directories and control files plain files. It behaves like cgroupfs for paths, listing,
 * mkdir/rmdir and reading/writing files, and unlike it in two ways tests must keep in mind: the
 * kernel creates control files by itself, and rmdir of a real cgroup ignores its control files.
 */
export interface FakeTree {
  /** Use as the `hierarchy` argument. */
  readonly root: string;
  /** Creates a cgroup directory with the given control files. */
  cgroup(path: string, files?: Readonly<Record<string, string>>): string;
  /** Writes a file at a path relative to the root (e.g. a fake /proc file). */
  file(path: string, content: string): string;
  remove(): void;
}

export function createFakeTree(): FakeTree {
  const root = mkdtempSync(join(tmpdir(), 'corral-cgroupfs-fake-'));
  return {
    root,
    cgroup(path, files = {}) {
      const dir = join(root, path);
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
      return dir;
    },
    file(path, content) {
      const target = join(root, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
      return target;
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
