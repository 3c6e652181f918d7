import { asWait } from '../agent-views.ts';
import { decodeWaitStatus, exitCodeOf, signalName } from '../format.ts';
import { type Command, idOperand, printJson } from './command.ts';

export const wait: Command = {
  name: 'wait',
  summary: 'wait until a container terminates; exit with its exit code (128+signal if killed)',
  usage: 'corral wait ID',
  description: [
    "Blocks until the container terminates, prints how it ended, and exits with the container's",
    'exit code, or 128 + the signal number when a signal killed it (137 for SIGKILL), as a shell',
    'does. A container that ended without an exit status (e.g. lost) exits 1. The agent keeps the',
    'result until `corral rm ID`, so waiting again answers at once.',
  ].join('\n'),
  options: {},
  operands: 'id',
  examples: ['corral wait web-1; echo "exit code $?"'],
  async run(context, args) {
    const id = idOperand(args);
    const { wait_container: result } = asWait(await context.client.waitContainer(id));
    const ending =
      result.exit_status === undefined ? undefined : decodeWaitStatus(result.exit_status);
    const exitCode = ending ? exitCodeOf(ending) : 1;
    if (context.json) {
      printJson(context, {
        id,
        ...result,
        ...(ending?.kind === 'exited' ? { exit_code: ending.code } : {}),
        ...(ending?.kind === 'signaled'
          ? { signal: ending.signal, signal_name: signalName(ending.signal) }
          : {}),
      });
      return exitCode;
    }
    const how =
      ending === undefined
        ? 'ended without an exit status'
        : ending.kind === 'exited'
          ? `exited with code ${ending.code}`
          : `killed by ${signalName(ending.signal)}`;
    const details = [result.state, result.message].filter(Boolean).join(': ');
    context.out.stdout(`${id} ${how}${details ? ` (${details})` : ''}\n`);
    return exitCode;
  },
};
