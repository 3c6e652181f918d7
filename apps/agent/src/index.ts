export { type Agent, createAgent } from './agent.ts';
export { type AgentConfig, type Invocation, loadConfig } from './config/load-config.ts';
export type { AgentApi } from './http/agent-api.ts';
export { buildServer, type ServerOptions } from './http/server.ts';
export type {
  OciState,
  OutputOffsets,
  RuntimeReply,
  RuntimeRequest,
  SignalMessage,
} from './runtime-socket/index.ts';
