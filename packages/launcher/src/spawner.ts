import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { LaunchError } from './errors.ts';
import { encodeFrame, FrameDecoder, launchRequest } from './helper-protocol.ts';
import type { InitSpec, PendingInit } from './launcher.ts';
import { readExitStatus, watchProcessExit } from './process.ts';

/** The native helper; the same relative paths work from src/ and from dist/. */
const INIT_HELPER_PATH = fileURLToPath(new URL('../native/build/corral-init', import.meta.url));
/** Rebuilds the helper, e.g. where the packed x86-64 build cannot run. */
const INIT_HELPER_BUILD = fileURLToPath(new URL('../native/build.sh', import.meta.url));

/**
 * Where one launch is: `starting` until the init exists (cloned into its cgroup and namespaces),
 * `blocked` until release or abort, `releasing` until the command was exec'd (or not), then
 * `settled`. Only unsettled launches hold the event loop.
 */
type Stage = 'starting' | 'blocked' | 'releasing' | 'settled';

/** One `launch` request and its init, until the spawner reports the init's exit. */
class SpawnedInit implements PendingInit {
  readonly exited: Promise<number>;
  readonly #spawner: SpawnerProcess;
  readonly #token: number;
  readonly #statusFile: string;
  readonly #started = Promise.withResolvers<PendingInit>();
  readonly #exit = Promise.withResolvers<number>();
  #released: PromiseWithResolvers<void> | undefined;
  #stage: Stage = 'starting';
  /** Why release() fails once the launch was settled without it. */
  #failure: LaunchError | undefined;
  /**
   * The init failed its setup before the release and waits, alive, for the release or abort
   * (so that isolating it still finds it): whichever comes next only lets it exit.
   */
  #failedWaiting = false;
  #pid = 0;
  #startTime = 0;

  constructor(spawner: SpawnerProcess, token: number, statusFile: string) {
    this.#spawner = spawner;
    this.#token = token;
    this.#statusFile = statusFile;
    this.exited = this.#exit.promise;
  }

  get pid(): number {
    return this.#pid;
  }

  get startTime(): number {
    return this.#startTime;
  }

  /** Resolves with this init once it exists in its cgroup and namespaces, blocked. */
  get started(): Promise<PendingInit> {
    return this.#started.promise;
  }

  release(): Promise<void> {
    if (this.#released === undefined) {
      this.#released = Promise.withResolvers();
      if (this.#stage === 'blocked') {
        this.#stage = 'releasing';
        this.#spawner.send('release', this.#token);
      } else {
        this.#letFailedInitExit();
        this.#released.reject(this.#failure ?? new LaunchError('Container init was aborted'));
      }
    }
    return this.#released.promise;
  }

  abort(): void {
    this.#letFailedInitExit();
    if (this.#stage !== 'blocked' && this.#stage !== 'releasing') return;
    this.#spawner.send('abort', this.#token);
    this.#fail(new LaunchError('Container init was aborted'));
  }

  #letFailedInitExit(): void {
    if (!this.#failedWaiting) return;
    this.#failedWaiting = false;
    this.#spawner.send('abort', this.#token);
  }

  onReady(pid: number, startTime: number): void {
    if (this.#stage !== 'starting') return;
    this.#pid = pid;
    this.#startTime = startTime;
    this.#stage = 'blocked';
    this.#started.resolve(this);
  }

  onOk(): void {
    if (this.#stage !== 'releasing') return;
    this.#settle();
    this.#released?.resolve();
  }

  onError(message: string): void {
    if (this.#stage === 'blocked') this.#failedWaiting = true;
    this.#fail(new LaunchError(message));
  }

  onExit(): void {
    this.#fail(
      new LaunchError('Container init exited before running the command without reporting why'),
    );
    // The status file is the source of truth, as it is for recovery.
    readExitStatus(this.#statusFile).then(this.#exit.resolve, this.#exit.reject);
  }

  /** The spawner died: an init that was still blocked exits (EOF); the others run on. */
  onSpawnerDeath(error: LaunchError): void {
    this.#fail(error);
    if (this.#pid === 0) return;
    watchProcessExit(this.#pid, this.#startTime, this.#statusFile).then(
      this.#exit.resolve,
      this.#exit.reject,
    );
  }

  /** Ends an unsettled launch with `error`: fork() or release() rejects with it. */
  #fail(error: LaunchError): void {
    const stage = this.#stage;
    if (!this.#settle()) return;
    this.#failure = error;
    if (stage === 'starting') this.#started.reject(error);
    if (stage === 'releasing') this.#released?.reject(error);
  }

  #settle(): boolean {
    if (this.#stage === 'settled') return false;
    this.#stage = 'settled';
    this.#spawner.settled();
    return true;
  }
}

/** One running `corral-init --spawner` and the launches it serves. */
class SpawnerProcess {
  readonly #child: ChildProcess;
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  /** By token, until the spawner reports the init's exit. */
  readonly #inits = new Map<number, SpawnedInit>();
  #nextToken = 1;
  #unsettled = 0;
  #dead = false;

  constructor() {
    // Detached: a terminal's Ctrl-C must reach the agent, which decides what happens to launches.
    this.#child = spawn(INIT_HELPER_PATH, ['--spawner'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    });
    this.#socket = this.#child.stdio[3] as Socket;
    this.#child.once('error', (error) =>
      this.#die(
        `Cannot start the container spawner '${INIT_HELPER_PATH}': ${error.message}. ` +
          `Build it with 'sh ${INIT_HELPER_BUILD}' (needs a C11 compiler)`,
      ),
    );
    this.#socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#decoder.push(chunk)) this.#receive(frame);
    });
    // An error (EPIPE) is followed by 'close'. Without a pid, 'error' above says why.
    this.#socket.on('error', () => {});
    this.#socket.on('close', () => {
      if (this.#child.pid !== undefined) this.#die('The container spawner exited');
    });
    this.#holdEventLoop(false);
  }

  get dead(): boolean {
    return this.#dead;
  }

  fork(spec: InitSpec, cgroupDir: string | undefined): Promise<PendingInit> {
    const token = this.#nextToken++;
    const frame = encodeFrame(launchRequest(token, spec, cgroupDir));
    const init = new SpawnedInit(this, token, spec.statusFile);
    this.#inits.set(token, init);
    if (this.#unsettled++ === 0) this.#holdEventLoop(true);
    this.#socket.write(frame);
    return init.started;
  }

  send(verb: 'release' | 'abort', token: number): void {
    if (!this.#dead) this.#socket.write(encodeFrame([verb, String(token)]));
  }

  /** A launch was settled: with none left, the agent may exit while its containers run. */
  settled(): void {
    if (--this.#unsettled === 0) this.#holdEventLoop(false);
  }

  #holdEventLoop(hold: boolean): void {
    if (hold) {
      this.#child.ref();
      this.#socket.ref();
    } else {
      this.#child.unref();
      this.#socket.unref();
    }
  }

  #receive(frame: readonly string[]): void {
    const [verb, token = '', first = '', second = ''] = frame;
    const init = this.#inits.get(Number(token));
    if (init === undefined) return; // the exit of an init whose start failed: nobody waits on it
    switch (verb) {
      case 'ready':
        init.onReady(Number(first), Number(second));
        break;
      case 'ok':
        init.onOk();
        break;
      case 'error':
        init.onError(first);
        // Failed before ready: nothing was forked, or the spawner killed it and reports no exit.
        if (init.pid === 0) this.#inits.delete(Number(token));
        break;
      case 'exit':
        this.#inits.delete(Number(token));
        init.onExit();
        break;
      default:
        this.#child.kill('SIGKILL');
        this.#die(`The container spawner sent an unexpected reply ${JSON.stringify(frame)}`);
    }
  }

  #die(message: string): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#socket.destroy();
    const error = new LaunchError(message);
    for (const init of this.#inits.values()) init.onSpawnerDeath(error);
    this.#inits.clear();
  }
}

/**
 * Forks container inits through one long-lived native helper (`corral-init --spawner`), so the
 * agent never forks itself per launch. The helper starts on the first fork and again after it
 * died (launches in flight then fail with a `LaunchError`). It holds the event loop only while a
 * launch is unsettled: the agent can exit while its containers run.
 */
export class Spawner {
  #process: SpawnerProcess | undefined;

  /**
   * Starts the init for `spec`. Resolves once its namespaces exist, with the init blocked on its
   * sync channel: the command has not run. With `cgroupDir` (the absolute path of a cgroup
   * directory) the init is in that cgroup from its first instruction.
   */
  async fork(spec: InitSpec, cgroupDir?: string): Promise<PendingInit> {
    if (this.#process === undefined || this.#process.dead) this.#process = new SpawnerProcess();
    return this.#process.fork(spec, cgroupDir);
  }
}
