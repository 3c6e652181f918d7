import { randomUUID } from 'node:crypto';
import { asContainers, asState, entryClassid, taskClassid, tasksOf } from '../agent-views.ts';
import { ContainerExistsError, UsageError } from '../errors.ts';
import { formatClassid } from '../format.ts';
import {
  type Command,
  type CommandArgs,
  type CommandContext,
  printJson,
  stringOption,
  stringsOption,
} from './command.ts';

const IPC_MODES: Readonly<Record<string, string>> = {
  private: 'PRIVATE',
  'share-parent': 'SHARE_PARENT',
};

function commandInfo(args: CommandArgs) {
  const shell = stringOption(args, 'shell');
  const argv = args.rest ?? [];
  if (shell !== undefined && argv.length > 0) {
    throw new UsageError('give either --shell "CMD" or \'-- CMD ARGS…\', not both');
  }
  const variables = stringsOption(args, 'env').map((pair) => {
    const equals = pair.indexOf('=');
    if (equals <= 0)
      throw new UsageError(`--env '${pair}' must be NAME=VALUE, e.g. --env PORT=8080`);
    return { name: pair.slice(0, equals), value: pair.slice(equals + 1) };
  });
  const environment = variables.length > 0 ? { environment: { variables } } : {};
  if (shell !== undefined) {
    if (shell.trim() === '')
      throw new UsageError('--shell needs a command, e.g. --shell "sleep 60"');
    return { shell: true, value: shell, ...environment };
  }
  const [program] = argv;
  if (program === undefined || program === '') {
    throw new UsageError(
      'nothing to run: give the command after \'--\' (corral launch -- sleep 60) or --shell "CMD"',
    );
  }
  return { shell: false, value: program, arguments: argv, ...environment };
}

function linuxInfo(args: CommandArgs) {
  const mode = stringOption(args, 'ipc-mode');
  const shm = stringOption(args, 'shm-size');
  const info: { ipc_mode?: string; shm_size?: number } = {};
  if (mode !== undefined) {
    const ipcMode = IPC_MODES[mode.toLowerCase()];
    if (!ipcMode) throw new UsageError(`--ipc-mode '${mode}' must be private or share-parent`);
    info.ipc_mode = ipcMode;
  }
  if (shm !== undefined) {
    if (!/^[1-9]\d*$/.test(shm)) {
      throw new UsageError(`--shm-size '${shm}' must be a positive whole number of MB, e.g. 64`);
    }
    info.shm_size = Number(shm);
  }
  return Object.keys(info).length > 0 ? { linux_info: info } : {};
}

/** The classid of a container that just launched: /containers, or /state once it has exited. */
async function classidOf(context: CommandContext, id: string): Promise<number | undefined> {
  const query = new URLSearchParams({ container_id: id });
  const entries = asContainers(await context.client.getJson(`/containers?${query}`));
  const entry = entries.find((candidate) => candidate.container_id === id);
  if (entry) return entryClassid(entry);
  const state = asState(await context.client.getJson('/state'));
  const task = tasksOf(state).find((candidate) => candidate.id === id);
  return task && taskClassid(task);
}

export const launch: Command = {
  name: 'launch',
  summary: 'launch a container; prints its id and net_cls classid',
  usage:
    'corral launch [--id ID] [--ipc-mode private|share-parent] [--shm-size MB] [--env K=V]… (-- CMD ARGS… | --shell "CMD")',
  description: [
    'Launches a container running CMD ARGS… (no shell), or CMD under /bin/sh -c with --shell.',
    "Prints the container's id and, when the agent runs cgroups/net_cls, its classid as",
    '0xAAAABBBB (primary:secondary handle). The command runs in the sandbox',
    '<work_dir>/containers/<id>; its output is in `corral logs ID`.',
  ].join('\n'),
  options: {
    id: { type: 'string', value: 'ID', description: 'container id (default: a random UUID)' },
    'ipc-mode': {
      type: 'string',
      value: 'MODE',
      description: 'private (own IPC namespace and /dev/shm, the default) or share-parent',
    },
    'shm-size': {
      type: 'string',
      value: 'MB',
      description: 'size of the private /dev/shm in MB',
    },
    env: {
      type: 'string',
      multiple: true,
      value: 'K=V',
      description: 'environment variable for the command (repeatable)',
    },
    shell: { type: 'string', value: '"CMD"', description: 'run CMD with /bin/sh -c' },
  },
  operands: 'command',
  examples: [
    'corral launch --id web-1 --env PORT=8000 -- python3 -m http.server 8000',
    'corral launch --shell "ipcmk -Q && sleep 600"',
  ],
  async run(context, args) {
    const command = commandInfo(args);
    const id = stringOption(args, 'id') ?? randomUUID();
    const { status } = await context.client.call('LAUNCH_CONTAINER', {
      launch_container: {
        container_id: { value: id },
        command,
        container: { type: 'MESOS', ...linuxInfo(args) },
      },
    });
    if (status === 202) throw new ContainerExistsError(id);
    const classid = await classidOf(context, id);
    if (context.json) {
      printJson(context, {
        id,
        ...(classid === undefined ? {} : { classid: formatClassid(classid) }),
      });
    } else {
      context.out.stdout(`${id}\n`);
      if (classid !== undefined) context.out.stdout(`classid ${formatClassid(classid)}\n`);
    }
    return 0;
  },
};
