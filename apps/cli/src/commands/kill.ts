import { UsageError } from '../errors.ts';
import { parseSignal, signalName } from '../format.ts';
import { type Command, idOperand, printJson, stringOption } from './command.ts';

export const kill: Command = {
  name: 'kill',
  summary: 'send a signal to a container (default KILL)',
  usage: 'corral kill ID [--signal TERM|KILL|<n>]',
  description: [
    "Sends a signal to the container's command; the agent then destroys the container once it",
    'exits. KILL (the default) always ends it; TERM lets the command clean up first. Use',
    '`corral wait ID` to see how it ended and `corral rm ID` to remove it.',
  ].join('\n'),
  options: {
    signal: {
      type: 'string',
      value: 'SIG',
      description: 'TERM, KILL, INT, HUP, USR1, … (SIG prefix optional) or a number 1-64',
    },
  },
  operands: 'id',
  examples: ['corral kill web-1 --signal TERM'],
  async run(context, args) {
    const id = idOperand(args);
    const text = stringOption(args, 'signal') ?? 'KILL';
    const signal = parseSignal(text);
    if (signal === undefined) {
      throw new UsageError(
        `--signal '${text}' is not a signal; use a name like TERM or KILL, or a number from 1 to 64`,
      );
    }
    await context.client.call(
      'KILL_CONTAINER',
      { kill_container: { container_id: { value: id }, signal } },
      { container: id },
    );
    if (context.json) printJson(context, { id, signal, signal_name: signalName(signal) });
    else context.out.stdout(`${id}: sent ${signalName(signal)}\n`);
    return 0;
  },
};
