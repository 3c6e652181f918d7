import { GLOBAL_OPTIONS } from './args.ts';
import type { Command, OptionSpec } from './commands/command.ts';

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const left = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}`;
    return spec.value ? `${flag} ${spec.value}` : flag;
  });
  const width = Math.max(...left.map((text) => text.length));
  return Object.values(options).map(
    (spec, index) => `  ${(left[index] ?? '').padEnd(width)}  ${spec.description}`,
  );
}

/** `corral <command> --help`. */
export function commandHelp(command: Command): string {
  const sections = [
    `Usage: ${command.usage} [global options]`,
    command.description,
    ...(Object.keys(command.options).length > 0
      ? [['Options:', ...optionLines(command.options)].join('\n')]
      : []),
    ['Global options:', ...optionLines(GLOBAL_OPTIONS)].join('\n'),
    [
      command.examples.length > 1 ? 'Examples:' : 'Example:',
      ...command.examples.map((line) => `  ${line}`),
    ].join('\n'),
  ];
  return `${sections.join('\n\n')}\n`;
}

/** `corral --help`. */
export function generalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `${[
    'Usage: corral <command> [options]',
    "corral talks to a Corral agent's HTTP API: it launches, lists, waits for, kills and removes containers and reads their logs.",
    [
      'Commands:',
      ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    ].join('\n'),
    [
      'Global options:',
      ...optionLines({
        ...GLOBAL_OPTIONS,
        version: { type: 'boolean', description: "print the CLI's version" },
      }),
    ].join('\n'),
    [
      'Example:',
      '  corral launch --id hello -- sh -c "echo hello; sleep 30"',
      '  corral ps',
      "Run 'corral <command> --help' for a command's options and an example.",
    ].join('\n'),
  ].join('\n\n')}\n`;
}
