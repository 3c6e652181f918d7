import { Agent, request } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/**
 * A lean keep-alive HTTP/1.1 client for one agent: node:http rather than fetch, so the client's
 * own overhead stays small beside the latencies it measures.
 */
export class HttpClient {
  readonly #agent = new Agent({ keepAlive: true, maxFreeSockets: 64 });
  readonly #host: string;
  readonly #port: number;

  constructor(url: string) {
    const parsed = new URL(url);
    this.#host = parsed.hostname;
    this.#port = Number(parsed.port);
  }

  get(path: string): Promise<HttpResponse> {
    return this.#send('GET', path, undefined);
  }

  /** POSTs a v1 call (an object, or its JSON text prepared ahead of a timed section). */
  call(body: unknown): Promise<HttpResponse> {
    return this.#send('POST', '/api/v1', typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** POSTs a v1 call and throws unless the agent answers `expected`. */
  async expect(body: unknown, expected = 200): Promise<HttpResponse> {
    const response = await this.call(body);
    if (response.status !== expected) {
      const type = typeof body === 'string' ? body.slice(0, 80) : JSON.stringify(body).slice(0, 80);
      throw new Error(
        `${type}… answered ${response.status}, expected ${expected}: ${response.body.slice(0, 300)}`,
      );
    }
    return response;
  }

  close(): void {
    this.#agent.destroy();
  }

  #send(method: string, path: string, body: string | undefined): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request(
        { host: this.#host, port: this.#port, method, path, headers, agent: this.#agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
