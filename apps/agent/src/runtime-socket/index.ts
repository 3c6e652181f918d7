import type { Logger } from '@corral/core';
import type { ContainerRegistry, LaunchCall, RuntimeOrigin } from '../containers/registry.ts';
import type { ContainerService } from '../containers/service.ts';
import { CallerPolicy } from './access.ts';
import { hardLimitsOf } from './bundle.ts';
import { Runtime } from './runtime.ts';
import { RuntimeSocketServer } from './server.ts';

export interface RuntimeSocketDeps {
  readonly path: string;
  /** `--runtime_socket_users`. */
  readonly users: string;
  readonly registry: ContainerRegistry;
  readonly service: ContainerService;
  readonly launch: (call: LaunchCall, origin: RuntimeOrigin) => Promise<unknown>;
  /** Whether `namespaces/ipc` is enabled. */
  readonly ipcIsolator: boolean;
  readonly logger: Logger;
}

export interface RuntimeSocket {
  /** Call once recovery is done: requests wait until then. */
  recovered(): void;
  close(): Promise<void>;
}

/** Serves `corral-runc` on `deps.path` (see server.ts); resolves once it listens. */
export async function startRuntimeSocket(deps: RuntimeSocketDeps): Promise<RuntimeSocket> {
  const runtime = new Runtime({
    registry: deps.registry,
    service: deps.service,
    launch: deps.launch,
    bundleContext: { ipcIsolator: deps.ipcIsolator, callerHardLimits: hardLimitsOf },
  });
  const { promise: recovered, resolve } = Promise.withResolvers<void>();
  const server = new RuntimeSocketServer({
    path: deps.path,
    policy: new CallerPolicy(deps.users),
    runtime,
    recovered,
    logger: deps.logger,
  });
  await server.listen();
  return {
    recovered() {
      runtime.adoptRecovered();
      resolve();
    },
    close: () => server.close(),
  };
}

// The wire format is the client's too (corral-runc imports it through the package).
export type * from './protocol.ts';
