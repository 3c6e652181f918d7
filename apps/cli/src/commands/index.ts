import { agentInfo } from './agent-info.ts';
import type { Command } from './command.ts';
import { completionCommand } from './completion.ts';
import { kill } from './kill.ts';
import { launch } from './launch.ts';
import { logs } from './logs.ts';
import { ps } from './ps.ts';
import { rm } from './rm.ts';
import { state } from './state.ts';
import { top } from './top.ts';
import { wait } from './wait.ts';

/** Every command, in the order `corral --help` lists them. */
export const COMMANDS: readonly Command[] = [
  launch,
  ps,
  top,
  wait,
  kill,
  rm,
  logs,
  state,
  agentInfo,
  completionCommand(() => COMMANDS),
];
