import { expect, it } from 'vitest';
import type { AgentApi } from './agent-api.ts';
import { buildServer } from './server.ts';

// A file of its own: fastify emits each deprecation once per process, so a server built by
// another test first would hide it.
it('builds a server without any deprecation warning for the operator to see', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    const server = buildServer({ agent: {} as AgentApi, auth: {} });
    await server.ready();
    await server.close();
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings).toEqual([]);
});
