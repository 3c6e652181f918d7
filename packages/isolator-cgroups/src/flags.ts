import { flag } from '@corral/core';

/** A finite number > 0, for CPU counts. */
function parseCpus(raw: string): number {
  const cpus = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(cpus) || cpus <= 0) {
    throw new Error(`'${raw}' is not a number of CPUs above 0`);
  }
  return cpus;
}

/** `max` (no limit) or a whole number of tasks from 1 up to the kernel's pid limit. */
function parsePidsMax(raw: string): number | 'max' {
  if (raw === 'max') return raw;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1 || Number(raw) > 4_194_304) {
    throw new Error(`'${raw}' is neither 'max' nor an integer from 1 to 4194304`);
  }
  return Number(raw);
}

export const cpuFlags = {
  cgroups_enable_cfs: flag.boolean({
    help: 'Cap each container at its CPU request with a CFS quota when the launch gives no limits.cpus (as Mesos does)',
    default: false,
  }),
  cgroups_cpu_default_cpus: flag.custom({
    help: "CPU request of containers whose launch has no resources[name=cpus] (Mesos' executor default)",
    accepted: 'a number of CPUs above 0, e.g. 0.1 or 2',
    default: 0.1,
    parse: parseCpus,
  }),
};

export const memFlags = {
  cgroups_mem_default_mb: flag.integer({
    help: "Memory request in MB of containers whose launch has no resources[name=mem]; it is also their hard limit unless limits.mem says otherwise (Mesos' executor default)",
    min: 32,
    max: 1_073_741_824,
    default: 32,
  }),
  cgroups_mem_oom_poll_ms: flag.integer({
    help: "cgroup v1 only: how often the host's OOM-kill counter (/proc/vmstat) is read to find OOM-killed containers; one read per interval, whatever the number of containers",
    min: 10,
    max: 60_000,
    default: 100,
  }),
};

export const pidsFlags = {
  cgroups_pids_max: flag.custom({
    help: "pids.max of every container: how many processes and threads it may have (a fork bomb stops there); 'max' for no limit",
    accepted: "'max' or an integer from 1 to 4194304",
    default: 4096 as number | 'max',
    parse: parsePidsMax,
  }),
};
