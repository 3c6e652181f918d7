import { createConnection } from 'node:net';
import { createInterface } from 'node:readline';
import type { RuntimeReply, RuntimeRequest, SignalMessage } from '@corral/agent';
import { AgentUnreachableError } from './errors.ts';

/** One call on the agent's runtime socket: the request went out; replies come in order. */
export interface Exchange {
  readonly replies: AsyncIterable<RuntimeReply>;
  send(message: SignalMessage): void;
}

/** Connects to the runtime socket and sends `request` (one JSON line). */
export function call(socketPath: string, request: RuntimeRequest): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    socket.once('error', (error: NodeJS.ErrnoException) =>
      reject(new AgentUnreachableError(socketPath, error.code ?? error.message, { cause: error })),
    );
    socket.once('connect', () => {
      socket.write(`${JSON.stringify(request)}\n`);
      const lines = createInterface({ input: socket, crlfDelay: Number.POSITIVE_INFINITY });
      async function* replies(): AsyncGenerator<RuntimeReply> {
        try {
          for await (const line of lines) yield JSON.parse(line) as RuntimeReply;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? String(error);
          throw new AgentUnreachableError(socketPath, `lost the connection: ${code}`, {
            cause: error,
          });
        }
      }
      resolve({
        replies: replies(),
        send: (message) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
        },
      });
    });
  });
}
