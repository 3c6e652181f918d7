import { type Command, printJson } from './command.ts';

export const state: Command = {
  name: 'state',
  summary: "print the agent's raw /state JSON",
  usage: 'corral state',
  description: [
    "Prints the agent's GET /state as it answers it: the Mesos agent state, where every container",
    'is a task of the local framework with its statuses, each with a container_status whose',
    'cgroup_info.net_cls.classid is the classid in decimal. --json prints the same document.',
  ].join('\n'),
  options: {},
  operands: 'none',
  examples: ['corral state | grep -o \'"classid":[0-9]*\''],
  async run(context) {
    if (context.json) {
      printJson(context, await context.client.getJson('/state'));
      return 0;
    }
    const text = await context.client.getText('/state');
    context.out.stdout(text.endsWith('\n') ? text : `${text}\n`);
    return 0;
  },
};
