import {
  AgentRequestError,
  AgentUnreachableError,
  MissingEndpointError,
  UnauthorizedError,
  UnexpectedResponseError,
  UnknownContainerError,
} from './errors.ts';

export const DEFAULT_AGENT_URL = 'http://127.0.0.1:5051';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface AgentClientOptions {
  /** The agent's base URL, e.g. `http://127.0.0.1:5051`. */
  readonly url: string;
  readonly principal?: string;
  readonly secret?: string;
  readonly fetch?: FetchLike;
  /** How long to keep retrying while the agent answers 503 (still recovering). */
  readonly recoveryWaitMs?: number;
}

/** A successful `/api/v1` answer: its status (200, or 202 for an existing id) and JSON body. */
export interface CallResult {
  readonly status: number;
  readonly body: unknown;
}

/** A slice of a container's stdout or stderr. */
export interface LogChunk {
  readonly data: Uint8Array;
  /** The file's size when read, so a reader knows whether more follows. */
  readonly size: number;
}

export type LogStream = 'stdout' | 'stderr';

/** What `request` needs to know to turn a 404 into the right error. */
interface RequestContext {
  readonly container?: string;
}

const RECOVERY_RETRY_MS = 100;

function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    return (cause as NodeJS.ErrnoException).code ?? cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** undici gives up on a response whose headers take longer than 300 s: a long WAIT_CONTAINER. */
function isHeadersTimeout(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'UND_ERR_HEADERS_TIMEOUT';
}

/**
 * The agent's HTTP API (`/api/v1`, `/state`, `/containers`, `/metrics/snapshot`,
 * `/containers/logs`), with its failures turned into the CLI's typed errors.
 */
export class AgentClient {
  readonly url: string;
  private readonly principal: string | undefined;
  private readonly authorization: string | undefined;
  private readonly fetch: FetchLike;
  private readonly recoveryWaitMs: number;

  constructor(options: AgentClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.principal = options.principal;
    this.authorization =
      options.principal === undefined
        ? undefined
        : `Basic ${Buffer.from(`${options.principal}:${options.secret ?? ''}`).toString('base64')}`;
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.recoveryWaitMs = options.recoveryWaitMs ?? 10_000;
  }

  /** POSTs a v1 call; `container` names the container a 404 is about. */
  async call(
    type: string,
    fields: Readonly<Record<string, unknown>> = {},
    context: RequestContext = {},
  ): Promise<CallResult> {
    const response = await this.request(
      '/api/v1',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ type, ...fields }),
      },
      context,
    );
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : this.parse(text, type) };
  }

  /**
   * WAIT_CONTAINER, which blocks until the container terminates. The agent keeps the termination
   * until REMOVE_CONTAINER, so a wait cut short by the HTTP client's timeout is simply repeated.
   */
  async waitContainer(id: string): Promise<unknown> {
    for (;;) {
      try {
        const { body } = await this.call(
          'WAIT_CONTAINER',
          { wait_container: { container_id: { value: id } } },
          { container: id },
        );
        return body;
      } catch (error) {
        if (!(error instanceof AgentUnreachableError && isHeadersTimeout(error.cause))) throw error;
      }
    }
  }

  /** GETs a read-only JSON endpoint such as `/state`. */
  async getJson(path: string): Promise<unknown> {
    return this.parse(await this.getText(path), path);
  }

  /** GETs a read-only endpoint's body as text, as the agent sent it. */
  async getText(path: string): Promise<string> {
    const response = await this.request(path, { headers: { accept: 'application/json' } });
    return response.text();
  }

  /** Bytes of a container's stdout or stderr from `offset` on (the agent caps each answer). */
  async readLog(id: string, stream: LogStream, offset: number): Promise<LogChunk> {
    const query = new URLSearchParams({ container_id: id, stream, offset: String(offset) });
    const response = await this.request(`/containers/logs?${query}`, {}, { container: id });
    const data = new Uint8Array(await response.arrayBuffer());
    const size = Number(response.headers.get('x-corral-log-size'));
    return { data, size: Number.isSafeInteger(size) ? size : offset + data.length };
  }

  private parse(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(
        `the agent at ${this.url} answered ${what} with something that is not JSON: ${text.slice(0, 80)}`,
      );
    }
  }

  private async request(
    path: string,
    init: RequestInit,
    context: RequestContext = {},
  ): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.authorization) headers.set('authorization', this.authorization);
    const deadline = Date.now() + this.recoveryWaitMs;
    for (;;) {
      let response: Response;
      try {
        response = await this.fetch(`${this.url}${path}`, { ...init, headers });
      } catch (error) {
        throw new AgentUnreachableError(this.url, networkReason(error), { cause: error });
      }
      if (response.ok) return response;
      const text = (await response.text()).trim();
      // A freshly started agent answers 503 until it has recovered its containers.
      if (response.status === 503 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_RETRY_MS));
        continue;
      }
      if (response.status === 401) throw new UnauthorizedError(this.url, this.principal);
      if (response.status === 404 && text.startsWith('No endpoint at')) {
        throw new MissingEndpointError(`${init.method ?? 'GET'} ${path.split('?')[0]}`, this.url);
      }
      if (response.status === 404 && context.container !== undefined) {
        throw new UnknownContainerError(context.container, this.url);
      }
      throw new AgentRequestError(response.status, text);
    }
  }
}
