import { flag } from '@corral/core';

export const networkCniFlags = {
  network_cni_config_dir: flag.directory({
    help:
      'Directory of CNI network configurations: .conflist files, then .conf and .json; without ' +
      'it (and --network_cni_plugins_dir) containers can only use the host network',
  }),
  network_cni_plugins_dir: flag.paths({
    help: 'Where CNI plugin binaries are looked up, in order (Debian: /usr/lib/cni); also CNI_PATH',
  }),
  network_cni_root_dir: flag.directory({
    help:
      "Where what DEL needs (each attachment's config and result) is checkpointed; keep it on a " +
      'persistent disk so a reboot still releases IPAM leases (default: <work_dir>/isolators/network/cni)',
  }),
  network_cni_plugin_timeout: flag.integer({
    help: 'Seconds one plugin call (ADD, DEL, VERSION) may take before its process group is killed',
    min: 1,
    max: 3600,
    default: 30,
  }),
};
