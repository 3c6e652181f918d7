import { flag, parseBytes } from '@corral/core';

/**
 * `parseBytes`, refusing zero: tmpfs reads `size=0` as "no limit", so a zero default would
 * silently give containers an unbounded /dev/shm instead of none.
 */
function parseShmSize(raw: string): number {
  const bytes = parseBytes(raw);
  if (bytes === 0) {
    throw new Error(`'${raw}' is zero, which tmpfs would take as no size limit at all`);
  }
  return bytes;
}

/** The flags of `namespaces/ipc`, with the names and semantics of Mesos' agent flags. */
export const ipcFlags = {
  default_container_shm_size: flag.custom({
    type: 'bytes',
    accepted:
      'a positive size like 64MB: a whole number and a unit B, KB, MB, GB or TB (powers of 1024)',
    help:
      'Size of the private /dev/shm of PRIVATE containers that do not set ' +
      'container.linux_info.shm_size. Default: the kernel tmpfs default (half of the RAM).',
    parse: parseShmSize,
  }),
  disallow_sharing_agent_ipc_namespace: flag.boolean({
    help: "Refuse top-level containers with ipc_mode SHARE_PARENT (the agent's IPC namespace and /dev/shm).",
    default: false,
  }),
};
