export { default, posixCpu, posixMem } from './manifest.ts';
export { type ContainerSample, type SamplerOptions, UsageSampler } from './sampler.ts';
export { createUsageIsolator, type UsageReport } from './usage-isolator.ts';
