import { AgentRequestError, ContainerRunningError } from '../errors.ts';
import { type Command, idOperand, printJson } from './command.ts';

export const rm: Command = {
  name: 'rm',
  summary: 'remove a terminated container and its sandbox',
  usage: 'corral rm ID',
  description: [
    'Forgets a terminated container: its record, its termination and its sandbox (including the',
    'stdout and stderr files). A running container is refused: kill it first.',
  ].join('\n'),
  options: {},
  operands: 'id',
  examples: ['corral kill web-1 && corral wait web-1; corral rm web-1'],
  async run(context, args) {
    const id = idOperand(args);
    try {
      await context.client.call(
        'REMOVE_CONTAINER',
        { remove_container: { container_id: { value: id } } },
        { container: id },
      );
    } catch (error) {
      if (error instanceof AgentRequestError && error.status === 409) {
        throw new ContainerRunningError(id);
      }
      throw error;
    }
    if (context.json) printJson(context, { id, removed: true });
    else context.out.stdout(`${id}: removed\n`);
    return 0;
  },
};
