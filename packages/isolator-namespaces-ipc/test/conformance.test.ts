import { readFileSync } from 'node:fs';
import { describeIsolatorConformance } from '@corral/isolator-testkit';
import manifest from '../src/index.ts';

/** Octal escapes /proc/self/mounts uses for spaces, tabs, newlines and backslashes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

describeIsolatorConformance(manifest, {
  source: '@corral/isolator-namespaces-ipc',
  packageJson: new URL('../package.json', import.meta.url),
  flags: { default_container_shm_size: '64MB' },
  invalidConfig: ({ directory, runtime_directory }) => ({
    command_info: { value: 'sleep 3600' },
    container_info: { linux_info: { ipc_mode: 'UNKNOWN' } },
    directory,
    runtime_directory,
  }),
  // The private /dev/shm lives in the container's mount namespace and dies with it; what cleanup
  // answers for on the host is any mount under the container's runtime dir.
  probe: (_id, { runtime_directory }) =>
    readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((line) => unescapeMountPath(line.split(' ')[1] ?? ''))
      .filter(
        (target) => target === runtime_directory || target.startsWith(`${runtime_directory}/`),
      )
      .map((target) => `a mount at ${target}`),
});
