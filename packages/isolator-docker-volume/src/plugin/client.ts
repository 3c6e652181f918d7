import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { VolumePluginError } from '../errors.ts';
import { type DiscoveryDirs, discoverPlugin, type PluginAddress } from './discovery.ts';

/** What Docker sends plugins (the docs still say v1, the engine speaks v1.2). */
const MEDIA_TYPE = 'application/vnd.docker.plugins.v1.2+json';
/** Docker retries unreachable plugins for 30 s in all. */
const RETRY_WINDOW_MS = 30_000;
/** Connection retries start here and double; Docker starts at 1 s, we retry sooner. */
const FIRST_RETRY_MS = 250;
/** Errors that mean the plugin is not listening (yet): retried with backoff. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EAGAIN', 'ECONNRESET', 'EPIPE']);

/** The plugin answered the call with an error (`Err`, or a non-200 status). */
export class PluginReplyError extends VolumePluginError {
  /** The plugin's own words. */
  readonly reply: string;

  constructor(plugin: string, method: string, reply: string) {
    super(plugin, `${method} failed: ${reply}`);
    this.reply = reply;
  }
}

export interface PluginClientOptions {
  readonly dirs: DiscoveryDirs;
  /** How long one call may take, connection retries included. */
  readonly timeoutMs: number;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** One HTTP POST; resolves with status and body, rejects on transport errors and timeouts. */
function post(
  address: PluginAddress,
  method: string,
  body: unknown,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const target =
      address.kind === 'unix'
        ? { socketPath: address.path }
        : { host: address.host, port: address.port };
    const call = request(
      {
        ...target,
        path: `/${method}`,
        method: 'POST',
        signal,
        headers: {
          accept: MEDIA_TYPE,
          'content-type': MEDIA_TYPE,
          'content-length': Buffer.byteLength(payload),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    call.on('error', reject);
    call.end(payload);
  });
}

/**
 * Speaks Docker's volume plugin protocol to plugins found by name: `Plugin.Activate` once per
 * plugin (lazily, as Docker does), then `VolumeDriver.*` calls. A plugin that is not listening is
 * retried with backoff; every call, retries included, ends within the timeout.
 */
export class PluginClient {
  readonly #options: PluginClientOptions;
  readonly #activated = new Map<string, Promise<PluginAddress>>();

  constructor(options: PluginClientOptions) {
    this.#options = options;
  }

  /** Calls `VolumeDriver.<method>` of `plugin`; resolves with the reply's JSON. */
  async call(plugin: string, method: string, body: unknown): Promise<Record<string, unknown>> {
    const signal = AbortSignal.timeout(this.#options.timeoutMs);
    const address = await this.#activate(plugin, signal);
    try {
      return await this.#exchange(plugin, address, `VolumeDriver.${method}`, body, signal);
    } catch (error) {
      // A plugin that stopped answering may come back elsewhere: find it again next time.
      if (!(error instanceof PluginReplyError)) this.#activated.delete(plugin);
      throw error;
    }
  }

  #activate(plugin: string, signal: AbortSignal): Promise<PluginAddress> {
    let activation = this.#activated.get(plugin);
    if (!activation) {
      activation = (async () => {
        const address = discoverPlugin(plugin, this.#options.dirs);
        const reply = await this.#exchange(plugin, address, 'Plugin.Activate', {}, signal);
        const implements_ = reply.Implements;
        if (!Array.isArray(implements_) || !implements_.includes('VolumeDriver')) {
          throw new VolumePluginError(
            plugin,
            `it implements ${JSON.stringify(implements_ ?? [])}, not VolumeDriver`,
          );
        }
        return address;
      })();
      this.#activated.set(plugin, activation);
      activation.catch(() => this.#activated.delete(plugin));
    }
    return activation;
  }

  async #exchange(
    plugin: string,
    address: PluginAddress,
    method: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const giveUpAt = performance.now() + RETRY_WINDOW_MS;
    for (let wait = FIRST_RETRY_MS; ; wait *= 2) {
      let reply: { status: number; text: string };
      try {
        reply = await post(address, method, body, signal);
      } catch (error) {
        if (signal.aborted) {
          throw new VolumePluginError(
            plugin,
            `${method} got no answer within ${this.#options.timeoutMs / 1000} s (--docker_volume_timeout)`,
            { cause: error },
          );
        }
        const code = errnoOf(error);
        if (code === undefined || !UNREACHABLE.has(code) || performance.now() + wait > giveUpAt) {
          throw new VolumePluginError(
            plugin,
            `${method} failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        await delay(wait, undefined, { signal }).catch(() => undefined);
        continue;
      }
      return this.#decode(plugin, method, reply);
    }
  }

  #decode(
    plugin: string,
    method: string,
    reply: { status: number; text: string },
  ): Record<string, unknown> {
    let json: unknown;
    try {
      json = reply.text === '' ? {} : JSON.parse(reply.text);
    } catch {
      json = undefined;
    }
    const record =
      typeof json === 'object' && json !== null && !Array.isArray(json)
        ? (json as Record<string, unknown>)
        : undefined;
    const err = typeof record?.Err === 'string' && record.Err !== '' ? record.Err : undefined;
    if (reply.status !== 200) throw new PluginReplyError(plugin, method, err ?? reply.text);
    if (err !== undefined) throw new PluginReplyError(plugin, method, err);
    if (!record) {
      throw new VolumePluginError(
        plugin,
        `${method} answered ${JSON.stringify(reply.text)}, not a JSON object`,
      );
    }
    return record;
  }
}
