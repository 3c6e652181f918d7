/**
 * Corral's own isolators and the package each lives in. The agent depends on these packages, so
 * they resolve from the agent itself; everything else comes through --modules.
 */
export const BUILTIN_ISOLATOR_PACKAGES: ReadonlyMap<string, string> = new Map([
  ['cgroups/cpu', '@corral/isolator-cgroups'],
  ['cgroups/mem', '@corral/isolator-cgroups'],
  ['cgroups/net_cls', '@corral/isolator-cgroups-net-cls'],
  ['cgroups/pids', '@corral/isolator-cgroups'],
  ['docker/volume', '@corral/isolator-docker-volume'],
  ['linux/capabilities', '@corral/isolator-linux-capabilities'],
  ['namespaces/ipc', '@corral/isolator-namespaces-ipc'],
  ['network/cni', '@corral/isolator-network-cni'],
  ['posix/cpu', '@corral/isolator-posix'],
  ['posix/mem', '@corral/isolator-posix'],
]);
