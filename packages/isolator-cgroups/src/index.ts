export {
  CgroupIsolator,
  type CgroupIsolatorOptions,
  type ControllerPolicy,
} from './cgroup-isolator.ts';
export { type CpuPolicyOptions, type CpuSettings, cpuPolicy } from './cpu.ts';
export { CgroupExistsError } from './errors.ts';
export { cpuFlags, memFlags, pidsFlags } from './flags.ts';
export { cgroupsCpu, cgroupsMem, cgroupsPids, default } from './manifest.ts';
export { MIN_MEMORY_MB, memPolicy } from './mem.ts';
export { MemIsolator } from './mem-isolator.ts';
export { type OomTrigger, startOomTrigger } from './oom-trigger.ts';
export { type PidsLimit, pidsPolicy } from './pids.ts';
export { type RequestAndLimit, type ResourceRule, requestAndLimit } from './requests.ts';
