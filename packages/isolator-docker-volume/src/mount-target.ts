import { lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { InvalidContainerConfigError } from '@corral/core';

function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException).code === code;
}

/**
 * Where a volume is mounted on the host side of the container's mount namespace, checked so that
 * it cannot land outside where the operator asked:
 * - a relative `containerPath` is created under the sandbox one directory at a time, and refused
 *   if any existing component is a symlink or not a directory (the sandbox is writable by
 *   earlier runs of a command, so a planted link must not redirect the mount);
 * - an absolute one must already exist as a directory, reached without symlinks, as in Mesos
 *   (nothing is created on the host's filesystem outside the sandbox).
 * The check runs before the container's first process exists, and the bind mount happens before
 * its command runs, so the container cannot swap a component in between.
 */
export function mountTarget(sandbox: string, containerPath: string, field: string): string {
  const refuse = (problem: string): never => {
    throw new InvalidContainerConfigError(`${field}.container_path`, problem);
  };
  if (isAbsolute(containerPath)) {
    const target = normalize(containerPath).replace(/(.)\/+$/, '$1');
    if (target === '/') refuse("'/' cannot be a volume's mount point");
    let real: string;
    try {
      real = realpathSync(target);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        return refuse(`absolute path '${target}' does not exist on the host; create it first`);
      }
      throw error;
    }
    if (real !== target) refuse(`'${target}' resolves through a symlink to '${real}'`);
    if (!statSync(target).isDirectory()) refuse(`'${target}' is not a directory`);
    return target;
  }
  mkdirSync(sandbox, { recursive: true });
  let current = sandbox;
  for (const segment of containerPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    current = join(current, segment);
    try {
      const stat = lstatSync(current);
      if (stat.isSymbolicLink())
        refuse(`'${containerPath}' resolves through a symlink at '${current}'`);
      if (!stat.isDirectory()) refuse(`'${current}' exists and is not a directory`);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
      mkdirSync(current, { mode: 0o755 });
    }
  }
  return current;
}
