import { asContainers } from '../agent-views.ts';
import type { LogStream } from '../client.ts';
import {
  booleanOption,
  type Command,
  type CommandContext,
  idOperand,
  printJson,
} from './command.ts';

async function isRunning(context: CommandContext, id: string): Promise<boolean> {
  const query = new URLSearchParams({ container_id: id });
  return asContainers(await context.client.getJson(`/containers?${query}`)).length > 0;
}

export const logs: Command = {
  name: 'logs',
  summary: "print a container's stdout (or stderr); --follow to keep reading",
  usage: 'corral logs ID [--stderr] [--follow]',
  description: [
    "Prints what the container's command wrote to stdout (or to stderr with --stderr), read from",
    'its sandbox through the agent (GET /containers/logs). With --follow, keeps printing new output',
    'until the container terminates. With --json, one {"id","stream","offset","text"} line per chunk.',
  ].join('\n'),
  options: {
    stderr: { type: 'boolean', description: 'the stderr file instead of stdout' },
    follow: {
      type: 'boolean',
      short: 'f',
      description: 'keep printing new output until the container terminates',
    },
  },
  operands: 'id',
  examples: ['corral logs web-1 --stderr --follow'],
  async run(context, args) {
    const id = idOperand(args);
    const stream: LogStream = booleanOption(args, 'stderr') ? 'stderr' : 'stdout';
    const decoder = new TextDecoder();
    let offset = 0;
    // Reads everything written so far; the agent caps each answer, so a big file takes several.
    const drain = async () => {
      for (;;) {
        const chunk = await context.client.readLog(id, stream, offset);
        if (chunk.data.length > 0) {
          if (context.json) {
            printJson(context, {
              id,
              stream,
              offset,
              text: decoder.decode(chunk.data, { stream: true }),
            });
          } else {
            context.out.stdout(chunk.data);
          }
        }
        offset += chunk.data.length;
        if (chunk.data.length === 0 || offset >= chunk.size) return;
      }
    };
    await drain();
    if (booleanOption(args, 'follow')) {
      // Checked before reading, so the last read happens after the command's last write.
      while (await isRunning(context, id)) {
        await drain();
        await context.sleep(context.pollIntervalMs);
      }
      await drain();
    }
    // A log that ends inside a UTF-8 sequence: show what is there.
    const tail = decoder.decode();
    if (context.json && tail) printJson(context, { id, stream, offset, text: tail });
    return 0;
  },
};
