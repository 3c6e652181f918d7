import { exitCodeOf, signalOf } from '@corral/containerizer';
import type { ContainerID, ContainerTermination } from '@corral/core';
import { processTree } from '@corral/procfs';
import type { LogStream } from '../containers/logs.ts';
import { readLogChunk } from '../containers/logs.ts';
import {
  type ContainerRecord,
  type ContainerRegistry,
  isTerminal,
  type LaunchCall,
  type RuntimeOrigin,
} from '../containers/registry.ts';
import type { ContainerService } from '../containers/service.ts';
import { launchCall } from '../http/call-validation.ts';
import { type BundleContext, bundleLaunch, type Caller } from './bundle.ts';
import {
  DuplicateRuntimeIdError,
  RuntimeStatusError,
  UnknownRuntimeContainerError,
} from './errors.ts';
import { OCI_VERSION, type OciState, type OutputOffsets, type RuntimeReply } from './protocol.ts';
import { containerIdForRuntimeId } from './runtime-ids.ts';

export interface RuntimeDeps {
  readonly registry: ContainerRegistry;
  readonly service: ContainerService;
  /** The agent's launch path: the launch-field policy, then the service. */
  readonly launch: (call: LaunchCall, origin: RuntimeOrigin) => Promise<unknown>;
  readonly bundleContext: Pick<BundleContext, 'ipcIsolator' | 'userFiles' | 'callerHardLimits'>;
}

/** How often a `run` looks for new output while the container runs. */
const OUTPUT_POLL_MS = 25;
const STREAMS: readonly LogStream[] = ['stdout', 'stderr'];
/** How long a recovered runtime container that stopped waits for its `run` to attach again. */
const ATTACH_GRACE_MS = 5_000;

/** The exit code a shell would report: the code, or 128 + the signal that killed it. */
export function exitCode(termination: ContainerTermination): number {
  const { status } = termination;
  if (status === undefined) return 255;
  return exitCodeOf(status) ?? 128 + (signalOf(status) ?? 0);
}

function ociStatus(record: ContainerRecord): OciState['status'] {
  if (isTerminal(record.state)) return 'stopped';
  return record.state === 'TASK_STARTING' || record.state === 'TASK_STAGING'
    ? 'creating'
    : 'running';
}

/**
 * The OCI runtime verbs over the agent's containers. Each runtime id maps to one Corral container
 * id (see runtime-ids.ts); the record carries the runtime id, bundle, annotations and owner, so
 * every verb, and a restarted agent, finds the container again.
 */
export class Runtime {
  readonly #deps: RuntimeDeps;
  /** Ids of recovered containers an `attach` follows (and will remove). */
  readonly #attached = new Set<string>();

  constructor(deps: RuntimeDeps) {
    this.#deps = deps;
  }

  /** The caller's container with this runtime id; others' containers do not exist for it. */
  #find(runtimeId: string, caller: Caller): ContainerRecord {
    const record = this.#deps.registry.get(containerIdForRuntimeId(runtimeId));
    const origin = record?.runtime;
    if (!record || origin?.id !== runtimeId || (caller.uid !== 0 && origin.owner !== caller.uid)) {
      throw new UnknownRuntimeContainerError(runtimeId);
    }
    return record;
  }

  state(runtimeId: string, caller: Caller): OciState {
    const record = this.#find(runtimeId, caller);
    const origin = record.runtime as RuntimeOrigin;
    const status = ociStatus(record);
    const pid =
      status === 'stopped'
        ? 0
        : (record.statuses.findLast((entry) => entry.container_status?.executor_pid)
            ?.container_status?.executor_pid ?? 0);
    return {
      ociVersion: OCI_VERSION,
      id: runtimeId,
      status,
      pid,
      bundle: origin.bundle,
      annotations: origin.annotations,
    };
  }

  /**
   * Signals the container's init, which forwards the signal to the command; with `all`, every
   * process of the container. SIGKILL always reaches every process (the engine destroys the
   * container).
   */
  kill(runtimeId: string, signal: number, all: boolean, caller: Caller): void {
    const record = this.#find(runtimeId, caller);
    if (isTerminal(record.state)) {
      throw new RuntimeStatusError(
        `container '${runtimeId}' is stopped: there is nothing to signal`,
      );
    }
    const pid = this.state(runtimeId, caller).pid;
    if (all && signal !== 9 && pid > 0) {
      // The init's descendants are the container's processes (the init is their subreaper).
      for (const process of processTree(pid).slice(1)) {
        try {
          globalThis.process.kill(process.pid, signal);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
      return;
    }
    this.#deps.service.kill(record.id, signal);
  }

  /** Removes a stopped container; with `force`, kills a running one first. */
  async delete(runtimeId: string, force: boolean, caller: Caller): Promise<void> {
    const record = this.#find(runtimeId, caller);
    if (!isTerminal(record.state)) {
      if (!force) {
        throw new RuntimeStatusError(
          `container '${runtimeId}' is ${ociStatus(record)}: stop it first (kill) or delete --force`,
        );
      }
      this.#deps.service.kill(record.id, 9);
      await this.#deps.service.wait(record.id);
    }
    await this.#deps.service.remove(record.id);
  }

  /**
   * Launches the bundle, streams its output to `send` until it exits, removes it (runc's `run`
   * does too) and sends its exit code. It goes on when the client goes away: the container ends
   * on its own or by `kill`, and is removed then.
   */
  async run(
    request: { readonly id: string; readonly bundle: string; readonly config: unknown },
    caller: Caller,
    send: (reply: RuntimeReply) => void,
  ): Promise<void> {
    const containerId = containerIdForRuntimeId(request.id);
    const { registry } = this.#deps;
    if (registry.get(containerId)) throw new DuplicateRuntimeIdError(request.id);
    const { launchContainer, annotations } = bundleLaunch(request.config, {
      ...this.#deps.bundleContext,
      containerId,
      bundle: request.bundle,
      caller,
    });
    const call = launchCall({ type: 'LAUNCH_CONTAINER', launch_container: launchContainer });
    const origin: RuntimeOrigin = {
      id: request.id,
      bundle: request.bundle,
      annotations,
      owner: caller.uid,
    };
    if ((await this.#deps.launch(call, origin)) === 'already_launched') {
      throw new DuplicateRuntimeIdError(request.id);
    }
    send({ type: 'started', pid: this.state(request.id, caller).pid });
    await this.#follow(containerId, { stdout: 0, stderr: 0 }, send);
  }

  /**
   * Follows a container whose `run` lost the agent (it crashed or restarted) from where that
   * client's output stopped, and ends as the `run` would have: removal, then the exit code.
   */
  async attach(
    runtimeId: string,
    offsets: OutputOffsets,
    caller: Caller,
    send: (reply: RuntimeReply) => void,
  ): Promise<void> {
    const { id } = this.#find(runtimeId, caller);
    this.#attached.add(id.value);
    try {
      await this.#follow(id, offsets, send);
    } finally {
      this.#attached.delete(id.value);
    }
  }

  /** Streams the output after `offsets` until the container ends; removes it; sends the exit. */
  async #follow(
    id: ContainerID,
    offsets: OutputOffsets,
    send: (reply: RuntimeReply) => void,
  ): Promise<void> {
    const termination = await this.#stream(id, { ...offsets }, send);
    // The record goes at once, so the id is free when the client hears the exit; the sandbox's
    // files go after the reply, off the caller's critical path.
    const removal = this.#deps.service.remove(id);
    send({
      type: 'exit',
      code: exitCode(termination),
      ...(termination.message ? { message: termination.message } : {}),
    });
    await removal;
  }

  /**
   * Follows the sandbox's stdout and stderr until the container ends. If following fails, the
   * container is removed once it ends, as after a normal run.
   */
  async #stream(
    id: ContainerID,
    offsets: Record<LogStream, number>,
    send: (reply: RuntimeReply) => void,
  ): Promise<ContainerTermination> {
    const { registry, service } = this.#deps;
    const sandbox = registry.sandboxOf(id);
    const forward = async () => {
      for (const stream of STREAMS) {
        for (;;) {
          const { data } = await readLogChunk(sandbox, stream, offsets[stream]);
          if (data.length === 0) break;
          offsets[stream] += data.length;
          send({ type: 'output', stream, data: data.toString('base64') });
        }
      }
    };
    let ended = false;
    const termination = (
      service.wait(id) ?? Promise.reject(new UnknownRuntimeContainerError(id.value))
    ).finally(() => {
      ended = true;
    });
    const settled = termination.then(
      () => undefined,
      () => undefined,
    );
    try {
      while (!ended) {
        await forward();
        await Promise.race([
          settled,
          new Promise((resolve) => setTimeout(resolve, OUTPUT_POLL_MS)),
        ]);
      }
      await forward();
    } catch (error) {
      await settled;
      await service.remove(id);
      throw error;
    }
    return termination;
  }

  /**
   * After recovery: runtime containers are removed once they have stopped, as their `run` would
   * have done, unless their `run` attached again (it removes them then). A stopped one stays
   * ATTACH_GRACE_MS, so a `run` that reconnects just after the restart still gets its exit code.
   */
  adoptRecovered(): void {
    const { registry, service } = this.#deps;
    for (const record of [...registry.all()]) {
      if (!record.runtime) continue;
      const ended = isTerminal(record.state) ? Promise.resolve() : service.wait(record.id);
      void ended
        ?.then(() => new Promise((resolve) => setTimeout(resolve, ATTACH_GRACE_MS).unref()))
        .then(() => (this.#attached.has(record.id.value) ? undefined : service.remove(record.id)));
    }
  }
}
