export { default, posixCpu, posixMem } from './manifest.ts';
export { createUsageIsolator, type UsageReport } from './usage-isolator.ts';
