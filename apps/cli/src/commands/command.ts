import type { AgentClient } from '../client.ts';

/** Where a command writes; main.ts binds it to the process's streams, tests to buffers. */
export interface Output {
  stdout(chunk: string | Uint8Array): void;
  stderr(chunk: string): void;
}

/** The terminal `corral` runs on, when stdin and stdout are one (`corral top`'s live mode). */
export interface Terminal {
  /** Hands each key pressed to `onKey` (raw mode: Ctrl-C arrives as `\u0003`) until released. */
  readKeys(onKey: (key: string) => void): () => void;
}

export interface CommandContext {
  readonly client: AgentClient;
  /** `--json`: one JSON document per result on stdout instead of text. */
  readonly json: boolean;
  readonly out: Output;
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** How often `logs --follow` polls the agent. */
  readonly pollIntervalMs: number;
  readonly terminal: Terminal | undefined;
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** Placeholder in help, e.g. `ID`. */
  readonly value?: string;
  readonly description: string;
}

export type OptionValue = string | boolean | (string | boolean)[] | undefined;

/** A command's arguments after parsing, global options removed. */
export interface CommandArgs {
  readonly values: Readonly<Record<string, OptionValue>>;
  /** Operands before `--`. */
  readonly operands: readonly string[];
  /** Everything after `--` (launch's command), or undefined when there was no `--`. */
  readonly rest: readonly string[] | undefined;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Synopsis without the global options, e.g. `corral kill ID [--signal SIG]`. */
  readonly usage: string;
  /** A paragraph for `--help`. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** What the command takes besides options. */
  readonly operands: 'none' | 'id' | 'command';
  readonly examples: readonly string[];
  /** Runs the command and resolves with the exit status. */
  run(context: CommandContext, args: CommandArgs): Promise<number>;
}

export function stringOption(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function booleanOption(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

export function stringsOption(args: CommandArgs, name: string): string[] {
  const value = args.values[name];
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/** The single ID operand of `wait`, `kill`, `rm`, `logs` (checked by the parser). */
export function idOperand(args: CommandArgs): string {
  return args.operands[0] ?? '';
}

/** Writes one JSON document on a line. */
export function printJson(context: CommandContext, value: unknown): void {
  context.out.stdout(`${JSON.stringify(value)}\n`);
}
