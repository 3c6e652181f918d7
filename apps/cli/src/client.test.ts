import { describe, expect, it } from 'vitest';
import { AgentClient, type FetchLike } from './client.ts';
import {
  AgentRequestError,
  AgentUnreachableError,
  MissingEndpointError,
  UnauthorizedError,
  UnknownContainerError,
} from './errors.ts';

interface Seen {
  readonly url: string;
  readonly init: RequestInit | undefined;
}

/** A fetch that answers from a list, recording what it was asked. */
function scripted(...answers: (Response | Error)[]) {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (url, init) => {
    seen.push({ url, init });
    const answer = answers.shift();
    if (answer === undefined) throw new Error('no more answers');
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { fetch, seen };
}

const text = (status: number, body: string) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain' } });

const refused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
  });

describe('AgentClient', () => {
  it('POSTs v1 calls as JSON with basic auth, and returns status and body', async () => {
    const { fetch, seen } = scripted(
      Response.json({ type: 'GET_HEALTH' }),
      new Response(null, { status: 202 }),
    );
    const client = new AgentClient({
      url: 'http://agent:5051/',
      principal: 'ops',
      secret: 's3',
      fetch,
    });
    expect(await client.call('GET_HEALTH')).toEqual({ status: 200, body: { type: 'GET_HEALTH' } });
    expect(await client.call('LAUNCH_CONTAINER', { launch_container: {} })).toEqual({
      status: 202,
      body: undefined,
    });
    expect(seen[0]?.url).toBe('http://agent:5051/api/v1');
    const headers = new Headers(seen[0]?.init?.headers);
    expect(headers.get('authorization')).toBe(`Basic ${Buffer.from('ops:s3').toString('base64')}`);
    expect(headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(String(seen[1]?.init?.body))).toEqual({
      type: 'LAUNCH_CONTAINER',
      launch_container: {},
    });
  });

  it('turns a connection failure into AgentUnreachableError naming the URL and how to start one', async () => {
    const client = new AgentClient({ url: 'http://127.0.0.1:1', fetch: scripted(refused()).fetch });
    const error = await client.getJson('/state').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentUnreachableError);
    expect((error as Error).message).toBe(
      "cannot reach the agent at http://127.0.0.1:1 (ECONNREFUSED): start one from the Corral repository with 'npx -y pnpm@12.21.0 start', or point --agent (or CORRAL_AGENT) at a running agent",
    );
  });

  it('turns 401 into UnauthorizedError, saying whether credentials were sent', async () => {
    const anonymous = new AgentClient({
      url: 'http://a',
      fetch: scripted(text(401, 'Unauthorized')).fetch,
    });
    await expect(anonymous.getJson('/state')).rejects.toThrow(
      /requires authentication \(401\): pass --principal/,
    );
    const named = new AgentClient({
      url: 'http://a',
      principal: 'ops',
      secret: 'wrong',
      fetch: scripted(text(401, 'Unauthorized')).fetch,
    });
    const error = await named.getJson('/state').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthorizedError);
    expect((error as Error).message).toMatch(/rejected the credentials of principal 'ops' \(401\)/);
  });

  it('turns 404 into UnknownContainerError for a container, MissingEndpointError for a path', async () => {
    const { fetch } = scripted(
      text(404, "Container 'x' cannot be found"),
      text(404, 'No endpoint at /containers/logs'),
    );
    const client = new AgentClient({ url: 'http://a', fetch });
    await expect(client.call('WAIT_CONTAINER', {}, { container: 'x' })).rejects.toBeInstanceOf(
      UnknownContainerError,
    );
    const missing = await client.readLog('x', 'stdout', 0).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MissingEndpointError);
    expect((missing as Error).message).toBe(
      'the agent at http://a has no GET /containers/logs endpoint: upgrade the agent',
    );
  });

  it("passes the agent's own message on for other errors", async () => {
    const message = "Failed to validate agent::Call: 'kill_container.container_id' is invalid";
    const client = new AgentClient({
      url: 'http://a',
      fetch: scripted(text(400, `${message}\n`)).fetch,
    });
    const error = await client
      .call('KILL_CONTAINER', {}, { container: 'a b' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentRequestError);
    expect((error as Error).message).toBe(`the agent refused the request (400): ${message}`);
  });

  it('retries while the agent is still recovering (503), then gives up with its message', async () => {
    const recovering = () => text(503, 'Agent has not finished recovery');
    const ok = new AgentClient({
      url: 'http://a',
      fetch: scripted(recovering(), recovering(), Response.json({ frameworks: [] })).fetch,
    });
    expect(await ok.getJson('/state')).toEqual({ frameworks: [] });
    const stuck = new AgentClient({
      url: 'http://a',
      recoveryWaitMs: 0,
      fetch: scripted(recovering()).fetch,
    });
    await expect(stuck.getJson('/state')).rejects.toThrow(
      'the agent refused the request (503): Agent has not finished recovery',
    );
  });

  it('repeats a WAIT_CONTAINER that the HTTP client timed out', async () => {
    const timeout = new TypeError('fetch failed', {
      cause: Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
    });
    const answer = { type: 'WAIT_CONTAINER', wait_container: { exit_status: 0 } };
    const { fetch, seen } = scripted(timeout, Response.json(answer));
    expect(await new AgentClient({ url: 'http://a', fetch }).waitContainer('c')).toEqual(answer);
    expect(seen).toHaveLength(2);
    const gone = new AgentClient({ url: 'http://a', fetch: scripted(refused()).fetch });
    await expect(gone.waitContainer('c')).rejects.toBeInstanceOf(AgentUnreachableError);
  });

  it('reads log bytes with the size the agent reports', async () => {
    const { fetch, seen } = scripted(
      new Response('world\n', { headers: { 'x-corral-log-size': '12' } }),
    );
    const chunk = await new AgentClient({ url: 'http://a', fetch }).readLog('c 1', 'stderr', 6);
    expect([Buffer.from(chunk.data).toString(), chunk.size]).toEqual(['world\n', 12]);
    expect(seen[0]?.url).toBe('http://a/containers/logs?container_id=c+1&stream=stderr&offset=6');
  });
});
