export { default, posixCpu, posixMem } from './manifest.ts';
export { type ProcessSample, parseStat, processTree } from './process-table.ts';
export { createUsageIsolator, type UsageReport } from './usage-isolator.ts';
