import type { ContainerID, ContainerTermination } from '@corral/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { LaunchCall } from '../src/containers/registry.ts';
import { SandboxFiles } from '../src/files/sandbox-files.ts';
import type { AgentApi } from '../src/http/agent-api.ts';

/** An AgentApi whose answers the tests control, recording what it was asked. */
export function stubAgent(overrides: Partial<AgentApi> = {}) {
  const launched: LaunchCall[] = [];
  const killed: { id: ContainerID; signal: number }[] = [];
  const agent: AgentApi = {
    isRecovered: () => true,
    version: () => ({ version: '1.2.3' }),
    flags: () => ({ isolation: 'posix/cpu', port: '5051' }),
    state: () => ({ frameworks: [] }),
    agentInfo: () => ({ hostname: 'node1', port: 5051, id: { value: 'a1-S0' } }),
    getState: () => ({
      get_tasks: { launched_tasks: [] },
      get_executors: {},
      get_frameworks: { frameworks: [{ framework_info: { user: 'root', name: 'corral' } }] },
    }),
    monitorStatistics: async () => [{ executor_id: 'c1', statistics: { timestamp: 1 } }],
    containerizerDebug: () => ({ pending: [] }),
    loggingLevel: () => 0,
    setLoggingLevel: () => undefined,
    files: new SandboxFiles({
      sandboxesDir: '/nonexistent/containers',
      frameworkId: 'corral-local',
      sandboxOf: () => undefined,
      containers: () => [],
    }),
    containers: async () => [{ container_id: 'c1' }],
    getContainers: async () => [{ container_id: { value: 'c1' } }],
    metricsSnapshot: () => ({ 'containerizer/launches': 3 }),
    prometheus: async () => 'corral_container_launches_total 3\n',
    launch: async (call) => {
      launched.push(call);
      return call.container_id.value === 'known' ? 'already_launched' : 'launched';
    },
    wait: (id) =>
      id.value === 'c1'
        ? Promise.resolve<ContainerTermination>({ status: 768, state: 'TASK_FAILED' })
        : undefined,
    kill: (id, signal) => {
      killed.push({ id, signal });
      return id.value === 'c1' ? 'signalled' : 'unknown';
    },
    remove: async (id) =>
      id.value === 'c1' ? 'removed' : id.value === 'busy' ? 'running' : 'unknown',
    readLog: (id, stream, offset) => {
      if (id.value !== 'c1') return undefined;
      const text = Buffer.from(stream === 'stdout' ? 'hello\nworld\n' : 'oops\n');
      return Promise.resolve({ data: text.subarray(offset), size: text.length });
    },
    ...overrides,
  };
  return { agent, launched, killed };
}

export const postCall = (
  app: FastifyInstance,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): Promise<LightMyRequestResponse> =>
  app.inject({
    method: 'POST',
    url: '/api/v1',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
