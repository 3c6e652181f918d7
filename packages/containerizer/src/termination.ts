import type { ContainerTermination, TaskState } from '@corral/core';

/** `WIFEXITED` / `WEXITSTATUS` / `WTERMSIG` on a raw wait(2) status word. */
export function exitCodeOf(status: number): number | undefined {
  return (status & 0x7f) === 0 ? (status >> 8) & 0xff : undefined;
}

export function signalOf(status: number): number | undefined {
  const signal = status & 0x7f;
  return signal !== 0 && signal !== 0x7f ? signal : undefined;
}

function describeStatus(status: number): string {
  const code = exitCodeOf(status);
  return code === undefined ? `killed by signal ${signalOf(status)}` : `exited with status ${code}`;
}

/**
 * The termination of a destroyed container. An explicit cause (launch failure, limitation) wins;
 * otherwise the state follows the command: 0 → FINISHED, stopped on request → KILLED, else FAILED.
 * Cleanup failures are appended to the message so the caller learns which isolator failed.
 */
export function terminationOf(
  status: number | undefined,
  killRequested: boolean,
  cause: Omit<ContainerTermination, 'status'> | undefined,
  failures: readonly string[],
): ContainerTermination {
  let state: TaskState;
  if (cause?.state) state = cause.state;
  else if (killRequested) state = 'TASK_KILLED';
  else if (status !== undefined && exitCodeOf(status) === 0) state = 'TASK_FINISHED';
  else state = 'TASK_FAILED';

  const messages = [
    cause?.message ?? (status === undefined ? undefined : `Command ${describeStatus(status)}`),
    ...failures,
  ].filter((message) => message !== undefined);
  const reason =
    cause?.reason ?? (state === 'TASK_FAILED' ? 'REASON_COMMAND_EXECUTOR_FAILED' : undefined);
  return {
    ...(status === undefined ? {} : { status }),
    state,
    ...(reason === undefined ? {} : { reason }),
    ...(messages.length === 0 ? {} : { message: messages.join('; ') }),
    ...(cause?.limited_resources ? { limited_resources: cause.limited_resources } : {}),
  };
}
