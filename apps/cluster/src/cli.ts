import { spawnSync } from 'node:child_process';
import {
  DEFAULT_NODES,
  DEFAULT_PRIMARY_HANDLE_BASE,
  down,
  MAX_NODES,
  openCluster,
  up,
} from './cluster.ts';
import { ClusterUsageError } from './errors.ts';

export const DEFAULT_DIR = '/run/corral-cluster';

export const USAGE = `Usage: pnpm cluster <command> [--dir DIR] [options]

A Slurm cluster of corral-agents on this machine (root): slurmctld and munged once, and per node
a network + UTS namespace (hostname = node name) on a bridge, slurmd -N <node> and a corral-agent.

Commands:
  up [--nodes N] [--primary_handle_base 0xHHHH]
                      start it (default ${DEFAULT_NODES} nodes; node i's net_cls primary handle is base + i,
                      default base 0x${DEFAULT_PRIMARY_HANDLE_BASE.toString(16)})
  status              each node: Slurm's state, slurmd, agent, containers
  exec -- CMD ARGS…   run CMD (srun, sbatch, sinfo, scancel…) where Slurm is reachable, with
                      SLURM_CONF set; the cluster's bundle for --container is DIR/bundle
  kill-node NODE      the node dies: every process in its namespaces is SIGKILLed
  start-node NODE     start a dead node's slurmd and agent again
  down                remove everything 'up' made, also after a crash of any part

--dir DIR             where the cluster keeps its files (default ${DEFAULT_DIR})
`;

export type Command =
  | { readonly name: 'help' }
  | { readonly name: 'up'; readonly dir: string; readonly nodes: number; readonly base: number }
  | { readonly name: 'status' | 'down'; readonly dir: string }
  | { readonly name: 'kill-node' | 'start-node'; readonly dir: string; readonly node: string }
  | { readonly name: 'exec'; readonly dir: string; readonly argv: readonly string[] };

function integer(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value)) {
    throw new ClusterUsageError(`${flag} needs an integer, got '${text ?? ''}'`);
  }
  return value;
}

export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    return { name: 'help' };
  }
  const separator = rest.indexOf('--');
  const options = separator < 0 ? rest : rest.slice(0, separator);
  const tail = separator < 0 ? [] : rest.slice(separator + 1);
  let dir = DEFAULT_DIR;
  let nodes = DEFAULT_NODES;
  let base = DEFAULT_PRIMARY_HANDLE_BASE;
  const positional: string[] = [];
  for (let index = 0; index < options.length; index++) {
    const [flag, inline] = (options[index] as string).split('=', 2) as [string, string?];
    const value = () => inline ?? options[++index];
    if (flag === '--dir') dir = value() ?? '';
    else if (flag === '--nodes' && name === 'up') nodes = integer(flag, value());
    else if (flag === '--primary_handle_base' && name === 'up') base = integer(flag, value());
    else if (flag.startsWith('-'))
      throw new ClusterUsageError(`unknown option '${flag}' for ${name}`);
    else positional.push(flag);
  }
  if (dir === '') throw new ClusterUsageError('--dir needs a directory');
  switch (name) {
    case 'up':
      if (nodes < 1 || nodes > MAX_NODES) {
        throw new ClusterUsageError(`--nodes must be from 1 to ${MAX_NODES}, got ${nodes}`);
      }
      return { name, dir, nodes, base };
    case 'status':
    case 'down':
      return { name, dir };
    case 'kill-node':
    case 'start-node': {
      const [node] = positional;
      if (node === undefined || positional.length > 1) {
        throw new ClusterUsageError(
          `${name} needs exactly one node name, got ${positional.length}`,
        );
      }
      return { name, dir, node };
    }
    case 'exec':
      if (tail.length === 0) throw new ClusterUsageError('exec needs a command after --');
      return { name, dir, argv: tail };
    default:
      throw new ClusterUsageError(
        `unknown command '${name}': expected up, status, exec, kill-node, start-node or down`,
      );
  }
}

/** Runs one command, printing to `out`; resolves with the exit status. */
export async function runCommand(command: Command, out: (text: string) => void): Promise<number> {
  switch (command.name) {
    case 'help':
      out(USAGE);
      return 0;
    case 'up': {
      const cluster = await up({
        dir: command.dir,
        nodes: command.nodes,
        primaryHandleBase: command.base,
      });
      const { record } = cluster;
      out(`cluster ${record.id} is up in ${record.dir}: ${record.nodes.length} nodes idle\n`);
      out(
        `try: pnpm cluster exec -- srun -N${record.nodes.length} --container=${record.bundle} hostname\n`,
      );
      return 0;
    }
    case 'status': {
      const rows = await openCluster(command.dir).status();
      out('NODE\tADDRESS\tSLURM\tSLURMD\tAGENT\tCONTAINERS\n');
      for (const row of rows) {
        const yes = (flag: boolean) => (flag ? 'up' : 'down');
        out(
          `${row.name}\t${row.address}\t${row.slurm}\t${yes(row.slurmd)}\t${yes(row.agent)}\t${row.containers ?? '-'}\n`,
        );
      }
      return 0;
    }
    case 'exec': {
      const cluster = openCluster(command.dir);
      const [file, ...args] = command.argv as [string, ...string[]];
      const result = spawnSync('nsenter', cluster.slurmArgs(file, args), {
        env: cluster.env,
        stdio: 'inherit',
      });
      return result.status ?? 128;
    }
    case 'kill-node':
      await openCluster(command.dir).killNode(command.node);
      out(`${command.node}: every process SIGKILLed\n`);
      return 0;
    case 'start-node':
      await openCluster(command.dir).startNode(command.node);
      out(`${command.node}: slurmd and agent started\n`);
      return 0;
    case 'down': {
      const removed = await down(command.dir);
      out(removed.length === 0 ? 'nothing to remove\n' : `removed ${removed.join(', ')}\n`);
      return 0;
    }
  }
}
