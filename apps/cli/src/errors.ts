/** How to start an agent, for messages that find none. */
export const START_AGENT_HINT =
  "start one from the Corral repository with 'npx -y pnpm@12.21.0 start', or point --agent (or CORRAL_AGENT) at a running agent";

/**
 * An error the CLI reports as one line on stderr, with a stable `code` and the exit status to
 * leave with. Anything else reaching the top level is a bug.
 */
export abstract class CliError extends Error {
  abstract readonly code: string;
  readonly exitCode: number = 1;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line arguments: exit status 2, like other Unix tools. */
export class UsageError extends CliError {
  readonly code = 'CORRAL_CLI_USAGE';
  override readonly exitCode = 2;
}

export class AgentUnreachableError extends CliError {
  readonly code = 'CORRAL_AGENT_UNREACHABLE';
  readonly url: string;

  constructor(url: string, reason: string, options?: ErrorOptions) {
    super(`cannot reach the agent at ${url} (${reason}): ${START_AGENT_HINT}`, options);
    this.url = url;
  }
}

export class UnauthorizedError extends CliError {
  readonly code = 'CORRAL_UNAUTHORIZED';
  readonly url: string;
  readonly principal: string | undefined;

  constructor(url: string, principal: string | undefined) {
    super(
      principal === undefined
        ? `the agent at ${url} requires authentication (401): pass --principal and --secret (or set CORRAL_PRINCIPAL and CORRAL_SECRET) from its --http_credentials file`
        : `the agent at ${url} rejected the credentials of principal '${principal}' (401): check --principal and --secret (or CORRAL_PRINCIPAL and CORRAL_SECRET) against its --http_credentials file`,
    );
    this.url = url;
    this.principal = principal;
  }
}

export class UnknownContainerError extends CliError {
  readonly code = 'CORRAL_UNKNOWN_CONTAINER';
  readonly id: string;

  constructor(id: string, url: string) {
    super(
      `no container '${id}' on the agent at ${url} (never launched, removed, or for kill: already terminated); 'corral ps' lists them`,
    );
    this.id = id;
  }
}

export class ContainerExistsError extends CliError {
  readonly code = 'CORRAL_CONTAINER_EXISTS';
  readonly id: string;

  constructor(id: string) {
    super(
      `a container '${id}' already exists, so nothing was launched: choose another --id, or 'corral rm ${id}' once it has terminated`,
    );
    this.id = id;
  }
}

export class ContainerRunningError extends CliError {
  readonly code = 'CORRAL_CONTAINER_RUNNING';
  readonly id: string;

  constructor(id: string) {
    super(`container '${id}' is still running: 'corral kill ${id}' first, then 'corral rm ${id}'`);
    this.id = id;
  }
}

/** The agent answered with an error status; the message is the agent's own explanation. */
export class AgentRequestError extends CliError {
  readonly code = 'CORRAL_AGENT_REFUSED';
  readonly status: number;
  readonly agentMessage: string;

  constructor(status: number, agentMessage: string) {
    super(`the agent refused the request (${status}): ${agentMessage || 'no reason given'}`);
    this.status = status;
    this.agentMessage = agentMessage;
  }
}

/** The agent answered 200 with something that is not what its API documents. */
export class UnexpectedResponseError extends CliError {
  readonly code = 'CORRAL_UNEXPECTED_RESPONSE';
}

/** The agent lacks an endpoint this command needs (an agent from before the endpoint existed). */
export class MissingEndpointError extends CliError {
  readonly code = 'CORRAL_MISSING_ENDPOINT';
  readonly endpoint: string;

  constructor(endpoint: string, url: string) {
    super(`the agent at ${url} has no ${endpoint} endpoint: upgrade the agent`);
    this.endpoint = endpoint;
  }
}
