export { default, posixRlimits } from './manifest.ts';
export {
  createRlimitsIsolator,
  RLIMIT_INFO_FIELD,
  RLIMIT_TYPES,
  rlimitsOf,
} from './rlimits.ts';
