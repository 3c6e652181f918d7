export {
  DEFAULT_SOCKET,
  type GlobalOptions,
  type Invocation,
  parseInvocation,
  parseSignal,
  type Verb,
} from './args.ts';
export {
  AgentCallError,
  AgentUnreachableError,
  BundleReadError,
  RuncError,
  UsageError,
} from './errors.ts';
export { type RuncIo, runc } from './runc.ts';
