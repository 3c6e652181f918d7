/** An error corral-runc reports as one line (stderr, and --log), leaving with exit status 1. */
export abstract class RuncError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line arguments. */
export class UsageError extends RuncError {
  readonly code = 'CORRAL_RUNC_USAGE';
}

/** The agent's runtime socket cannot be reached, or went away mid-call. */
export class AgentUnreachableError extends RuncError {
  readonly code = 'CORRAL_RUNC_AGENT_UNREACHABLE';
  readonly socket: string;

  constructor(socket: string, reason: string, options?: ErrorOptions) {
    super(
      `cannot reach the corral-agent runtime socket ${socket} (${reason}): start the agent with --runtime_socket=${socket}, or point --agent (or CORRAL_RUNTIME_SOCKET) at its socket`,
      options,
    );
    this.socket = socket;
  }
}

/** The agent refused or failed the call; `code` is the agent's (e.g. CORRAL_DUPLICATE_RUNTIME_ID). */
export class AgentCallError extends RuncError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** The bundle's config.json cannot be read as JSON by the caller. */
export class BundleReadError extends RuncError {
  readonly code = 'CORRAL_RUNC_BUNDLE';
}
