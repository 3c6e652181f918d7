import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';

/**
 * A Docker volume plugin (the `VolumeDriver` protocol of Docker's plugin API) on a unix socket,
 * for testing volume isolators where no real plugin is installed. Volumes are directories under
 * `root`; with `tmpfs` each is its own tmpfs mount, so a mount a test leaks shows in
 * `/proc/self/mountinfo`. Every call is logged, and knobs make calls fail, hang or find the
 * socket refusing connections.
 */

export interface VolumePluginDoubleOptions {
  /** The plugin's name: the socket is `<socketDir>/<name>.sock`. */
  readonly name: string;
  /** Where the plugin's socket goes, e.g. a temp dir given to the isolator as its plugin dir. */
  readonly socketDir: string;
  /** Where volumes live, one directory each. */
  readonly root: string;
  /** Mount a tmpfs on each volume (needs root). */
  readonly tmpfs?: boolean;
}

/** One request the plugin received. */
export interface PluginCall {
  /** `Plugin.Activate`, `VolumeDriver.Mount`, … */
  readonly method: string;
  readonly body: Readonly<Record<string, unknown>>;
}

/** How the next calls of one method misbehave. */
export type PluginFault =
  /** Answer with `{"Err": message}`, as status 500 or as a 200 (both are errors to a client). */
  | { readonly kind: 'error'; readonly message: string; readonly status?: 200 | 500 }
  /** Never answer (until the double stops). */
  | { readonly kind: 'hang' }
  /** Answer normally after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number };

interface Volume {
  readonly mountpoint: string;
  /** Mount IDs that have not been unmounted yet. */
  readonly mountedBy: Set<string>;
}

const MEDIA_TYPE = 'application/vnd.docker.plugins.v1+json';

export class VolumePluginDouble {
  readonly name: string;
  readonly socketPath: string;
  readonly root: string;
  readonly calls: PluginCall[] = [];
  readonly #tmpfs: boolean;
  readonly #volumes = new Map<string, Volume>();
  readonly #faults = new Map<string, PluginFault[]>();
  readonly #hung = new Set<ServerResponse>();
  #server: Server;

  private constructor(options: VolumePluginDoubleOptions) {
    this.name = options.name;
    this.socketPath = join(options.socketDir, `${options.name}.sock`);
    this.root = options.root;
    this.#tmpfs = options.tmpfs ?? false;
    this.#server = this.#newServer();
  }

  /** Starts listening on `<socketDir>/<name>.sock`. */
  static async start(options: VolumePluginDoubleOptions): Promise<VolumePluginDouble> {
    mkdirSync(options.socketDir, { recursive: true });
    mkdirSync(options.root, { recursive: true });
    const double = new VolumePluginDouble(options);
    await double.#listen();
    return double;
  }

  #newServer(): Server {
    return createServer((request, response) => {
      void this.#handle(request, response);
    });
  }

  async #listen(): Promise<void> {
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    this.#server.listen(this.socketPath);
    await once(this.#server, 'listening');
  }

  /** Makes the next `times` calls of `method` (e.g. `VolumeDriver.Unmount`) misbehave. */
  fail(method: string, fault: PluginFault, times = 1): void {
    const queue = this.#faults.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.#faults.set(method, queue);
  }

  /** Closes the socket for `ms` (connections are refused), then listens again. */
  async refuseConnections(ms: number): Promise<void> {
    await this.#close();
    setTimeout(() => {
      this.#server = this.#newServer();
      void this.#listen();
    }, ms).unref();
  }

  /** Creates a volume as if an operator had (`docker volume create`), with files in it. */
  addVolume(name: string, files: Readonly<Record<string, string>> = {}): string {
    const volume = this.#create(name);
    for (const [file, content] of Object.entries(files)) {
      const path = join(volume.mountpoint, file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    return volume.mountpoint;
  }

  /** The IDs holding `name` mounted now (every Mount not yet matched by its Unmount). */
  mountedBy(name: string): string[] {
    return [...(this.#volumes.get(name)?.mountedBy ?? [])];
  }

  /** The calls of one method, e.g. `calls('VolumeDriver.Mount')`. */
  callsOf(method: string): PluginCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Stops answering, releases hung calls, unmounts every tmpfs and removes `root`. */
  async stop(): Promise<void> {
    for (const response of this.#hung) response.destroy();
    this.#hung.clear();
    await this.#close();
    for (const volume of this.#volumes.values()) this.#removeMount(volume.mountpoint);
    rmSync(this.root, { recursive: true, force: true });
  }

  async #close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = once(this.#server, 'close');
    this.#server.close();
    this.#server.closeAllConnections();
    await closed;
  }

  #create(name: string): Volume {
    const existing = this.#volumes.get(name);
    if (existing) return existing;
    const mountpoint = join(this.root, name);
    mkdirSync(mountpoint, { recursive: true });
    if (this.#tmpfs) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountpoint]);
    const volume = { mountpoint, mountedBy: new Set<string>() };
    this.#volumes.set(name, volume);
    return volume;
  }

  #removeMount(mountpoint: string): void {
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[4] === mountpoint);
    if (mounted) execFileSync('umount', [mountpoint]);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      // Logged as an empty body; the method below answers what a plugin would.
    }
    const method = (request.url ?? '').replace(/^\//, '');
    this.calls.push({ method, body });
    const reply = (status: number, json: unknown) => {
      response.writeHead(status, { 'content-type': MEDIA_TYPE });
      response.end(JSON.stringify(json));
    };
    const fault = this.#faults.get(method)?.shift();
    if (fault?.kind === 'hang') {
      this.#hung.add(response);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'error') {
      reply(fault.status ?? 500, { Err: fault.message });
      return;
    }
    const { status, json } = this.#answer(method, body);
    reply(status, json);
  }

  #answer(method: string, body: Record<string, unknown>): { status: number; json: unknown } {
    const ok = (json: Record<string, unknown> = {}) => ({
      status: 200,
      json: { Err: '', ...json },
    });
    const err = (message: string) => ({ status: 500, json: { Err: message } });
    const name = typeof body.Name === 'string' ? body.Name : '';
    const id = typeof body.ID === 'string' ? body.ID : '';
    const volume = this.#volumes.get(name);
    switch (method) {
      case 'Plugin.Activate':
        return { status: 200, json: { Implements: ['VolumeDriver'] } };
      case 'VolumeDriver.Capabilities':
        return ok({ Capabilities: { Scope: 'local' } });
      case 'VolumeDriver.Create':
        if (name === '') return err('a volume needs a Name');
        if (volume) return err(`volume ${name} already exists`);
        this.#create(name);
        return ok();
      case 'VolumeDriver.Get':
        if (!volume) return err(`no such volume: ${name}`);
        return ok({ Volume: { Name: name, Mountpoint: volume.mountpoint, Status: {} } });
      case 'VolumeDriver.List':
        return ok({
          Volumes: [...this.#volumes].map(([n, v]) => ({ Name: n, Mountpoint: v.mountpoint })),
        });
      case 'VolumeDriver.Path':
        if (!volume) return err(`no such volume: ${name}`);
        return ok({ Mountpoint: volume.mountpoint });
      case 'VolumeDriver.Mount':
        if (!volume) return err(`no such volume: ${name}`);
        if (id === '') return err('Mount needs an ID');
        volume.mountedBy.add(id);
        return ok({ Mountpoint: volume.mountpoint });
      case 'VolumeDriver.Unmount':
        if (!volume) return err(`no such volume: ${name}`);
        if (!volume.mountedBy.delete(id)) return err(`volume ${name} is not mounted by ${id}`);
        return ok();
      case 'VolumeDriver.Remove':
        if (!volume) return err(`no such volume: ${name}`);
        if (volume.mountedBy.size > 0) return err(`volume ${name} is in use`);
        this.#removeMount(volume.mountpoint);
        rmSync(volume.mountpoint, { recursive: true, force: true });
        this.#volumes.delete(name);
        return ok();
      default:
        return { status: 404, json: { Err: `unknown method ${method}` } };
    }
  }
}
