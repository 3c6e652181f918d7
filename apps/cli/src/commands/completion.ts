import { GLOBAL_OPTIONS } from '../args.ts';
import { UsageError } from '../errors.ts';
import type { Command, OptionSpec } from './command.ts';

const SHELLS = ['bash'];

function optionWords(options: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(options).flatMap(([name, spec]) => [
    `--${name}`,
    ...(spec.short ? [`-${spec.short}`] : []),
  ]);
}

/**
 * A bash completion for `commands`: command names, each command's options, and for commands
 * that take an ID the ids `corral ps` lists (asked of the agent when TAB is pressed).
 */
export function bashCompletion(commands: readonly Command[]): string {
  const global = optionWords(GLOBAL_OPTIONS).join(' ');
  const cases = commands
    .map((command) => `    ${command.name}) options="${optionWords(command.options).join(' ')}" ;;`)
    .join('\n');
  const withIds = commands
    .filter((command) => command.operands === 'id')
    .map((command) => command.name)
    .join('|');
  return `# bash completion for corral: source <(corral completion bash)
_corral() {
  local current=\${COMP_WORDS[COMP_CWORD]} options=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.map((command) => command.name).join(' ')} --help --version" -- "$current"))
    return
  fi
  case \${COMP_WORDS[1]} in
${cases}
  esac
  if [[ $current == -* ]]; then
    COMPREPLY=($(compgen -W "$options ${global}" -- "$current"))
  elif [[ \${COMP_WORDS[1]} == @(${withIds}) ]]; then
    COMPREPLY=($(compgen -W "$(corral ps 2>/dev/null | awk 'NR > 1 { print $1 }')" -- "$current"))
  fi
}
complete -F _corral corral
`;
}

/** `corral completion bash`; takes the command list late, since it is itself in that list. */
export function completionCommand(commands: () => readonly Command[]): Command {
  return {
    name: 'completion',
    summary: 'print a shell completion script (bash)',
    usage: 'corral completion bash',
    description: [
      'Prints a bash completion for corral: commands, their options, and container ids (from',
      "'corral ps') for wait, kill, rm and logs. Load it in your shell or ~/.bashrc with",
      'source <(corral completion bash).',
    ].join('\n'),
    options: {},
    operands: 'id',
    examples: ['corral completion bash > /etc/bash_completion.d/corral'],
    async run(context, args) {
      const shell = args.operands[0] ?? '';
      if (!SHELLS.includes(shell)) {
        throw new UsageError(
          `no completion for shell '${shell}': the shells are ${SHELLS.join(', ')}`,
        );
      }
      context.out.stdout(bashCompletion(commands()));
      return 0;
    },
  };
}
