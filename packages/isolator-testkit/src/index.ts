export { type ConformanceOptions, describeIsolatorConformance } from './conformance.ts';
export type {
  ContainerPaths,
  ContainerProcess,
  LifecycleOptions,
  Probe,
  ProbeTarget,
} from './harness.ts';
export { describeIfPossible, describeOnHost } from './host-gate.ts';
export { type ContractRule, ContractViolationError, RULES } from './rules.ts';
