import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  Containerizer,
  type ContainerizerOptions,
  ENGINE_LAUNCH_FIELDS,
  type NamedIsolator,
} from '@corral/containerizer';
import { type ContainerID, containerIdToString, type IsolatorContext } from '@corral/core';
import { createLauncher } from '@corral/launcher';
import type { FastifyInstance } from 'fastify';
import { VerbosityToggle } from './api/logging-level.ts';
import type { AgentConfig } from './config/load-config.ts';
import { readLogChunk } from './containers/logs.ts';
import { type ContainerRecord, ContainerRegistry, isTerminal } from './containers/registry.ts';
import { ContainerService } from './containers/service.ts';
import {
  type AgentIdentity,
  agentInfoView,
  type ContainerReport,
  containersView,
  FRAMEWORK_ID,
  getContainersView,
  getStateView,
  monitorView,
  stateView,
} from './containers/views.ts';
import { SandboxFiles } from './files/sandbox-files.ts';
import type { AgentApi, ContainersFilter } from './http/agent-api.ts';
import { mapSliced } from './http/json-stream.ts';
import { buildServer } from './http/server.ts';
import { LaunchFieldPolicy } from './isolation/launch-fields.ts';
import { checkRequirements } from './isolation/requirements.ts';
import { coreLogger, type PinoLogger } from './logging.ts';
import { AgentMetrics, metricsSnapshot, stateLabel } from './metrics/agent-metrics.ts';
import { PrometheusMetrics } from './metrics/prometheus.ts';
import { type RuntimeSocket, startRuntimeSocket } from './runtime-socket/index.ts';
import { AGENT_VERSION } from './version.ts';

export interface Agent {
  /** Creates the isolators, serves HTTP (503 while recovering), recovers containers. */
  start(): Promise<{ readonly url: string }>;
  /** Stops serving (in-flight requests drain); containers keep running for the next start. */
  stop(): Promise<void>;
}

/** How long in-flight requests (e.g. WAIT_CONTAINER long-polls) may hold up a stop. */
const DRAIN_TIMEOUT_MS = 5_000;

function agentId(workDir: string): string {
  const file = join(workDir, 'meta', 'agent_id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  // Mesos' form (`<uuid>-S<n>`), which tools that parse agent ids expect.
  const id = `${randomUUID()}-S0`;
  mkdirSync(join(workDir, 'meta'), { recursive: true });
  writeFileSync(file, id);
  return id;
}

/** The file the agent's stderr (its log) goes to, when it is one, for `/slave/log`. */
function stderrLogFile(): string | undefined {
  try {
    const target = readlinkSync('/proc/self/fd/2');
    return isAbsolute(target) && statSync(target).isFile() ? target : undefined;
  } catch {
    return undefined;
  }
}

async function createIsolators(
  config: AgentConfig,
  child: (bindings: Record<string, string>) => PinoLogger,
): Promise<NamedIsolator[]> {
  const { flags } = config;
  const isolators: NamedIsolator[] = [];
  for (const { definition, flags: values } of config.isolators) {
    checkRequirements(definition.name, definition.requires);
    const runtimeDir = join(flags.runtime_dir, 'isolators', definition.name);
    mkdirSync(runtimeDir, { recursive: true });
    const context: IsolatorContext = {
      name: definition.name,
      logger: coreLogger(child({ isolator: definition.name })),
      runtimeDir,
      cgroups: { hierarchy: flags.cgroups_hierarchy, root: flags.cgroups_root },
      agent: { workDir: flags.work_dir, runtimeDir: flags.runtime_dir },
    };
    isolators.push({ name: definition.name, isolator: await definition.create(values, context) });
  }
  return isolators;
}

/** Hooks for tests and tracing, set by main.ts. */
export interface AgentHooks {
  readonly onStep?: ContainerizerOptions['onStep'];
}

/** Wires the containerizer, isolators, container records, metrics and the HTTP server. */
export function createAgent(
  config: AgentConfig,
  logger: PinoLogger,
  hooks: AgentHooks = {},
): Agent {
  const { flags } = config;
  // SET_LOGGING_LEVEL changes every logger the agent made: pino children keep their own level.
  const loggers: PinoLogger[] = [logger];
  const child = (bindings: Record<string, string>) => {
    const made = logger.child(bindings);
    loggers.push(made);
    return made;
  };
  const baseLevel = logger.level;
  const verbosity = new VerbosityToggle((level) => {
    const wanted = level >= 2 ? 'trace' : 'debug';
    const { values } = logger.levels;
    const more = level > 0 && (values[wanted] ?? 0) < (values[baseLevel] ?? 0);
    for (const each of loggers) each.level = more ? wanted : baseLevel;
  });
  let server: FastifyInstance | undefined;
  let records: ContainerRegistry | undefined;
  let runtimeSocket: RuntimeSocket | undefined;

  return {
    async start() {
      mkdirSync(flags.work_dir, { recursive: true });
      mkdirSync(flags.runtime_dir, { recursive: true });
      const isolators = await createIsolators(config, child);
      const launcher = createLauncher({
        ...(flags.launcher ? { kind: flags.launcher } : {}),
        cgroupsRoot: flags.cgroups_root,
        cgroupsHierarchy: flags.cgroups_hierarchy,
      });
      const containerizer = new Containerizer({
        runtimeDir: flags.runtime_dir,
        launcher,
        isolators,
        switchUser: flags.switch_user,
        noNewPrivileges: flags.no_new_privileges,
        logger: coreLogger(child({ component: 'containerizer' })),
        ...(hooks.onStep ? { onStep: hooks.onStep } : {}),
      });
      const registry = new ContainerRegistry(
        flags.work_dir,
        flags.max_completed_containers,
        coreLogger(child({ component: 'registry' })),
      );
      registry.load();
      records = registry;
      const metrics = new AgentMetrics();
      const service = new ContainerService({
        containerizer,
        registry,
        metrics,
        logger: coreLogger(logger),
      });
      const identity: AgentIdentity = {
        id: agentId(flags.work_dir),
        version: AGENT_VERSION,
        hostname: hostname(),
        pid: `corral-agent@${flags.ip}:${flags.port}`,
        port: flags.port,
        startTime: Date.now() / 1000,
      };
      let recovered = false;
      const launchFields = new LaunchFieldPolicy({
        engine: ENGINE_LAUNCH_FIELDS,
        enabled: config.isolators.map(({ definition }) => definition),
        available: async () =>
          (await config.availableIsolators()).map(({ definition }) => definition),
      });

      const running = () => [...registry.all()].filter((record) => !isTerminal(record.state));
      const report = async (record: ContainerRecord): Promise<ContainerReport> => {
        const [status, statistics] = await Promise.allSettled([
          containerizer.status(record.id),
          containerizer.usage(record.id),
        ]);
        return {
          record,
          ...(status.status === 'fulfilled' ? { status: status.value } : {}),
          ...(statistics.status === 'fulfilled' ? { statistics: statistics.value } : {}),
        };
      };
      // Asked in slices, so 10,000 containers' calls do not hold the event loop in one stretch;
      // the posix isolators still serve them all from one batch (see UsageSampler).
      const reports = async (records: Iterable<ContainerRecord>) =>
        Promise.all(await mapSliced(records, report));
      const metricsInputs = () => {
        const containersByState: Record<string, number> = {};
        for (const record of registry.all()) {
          const state = stateLabel(record.state);
          containersByState[state] = (containersByState[state] ?? 0) + 1;
        }
        const isolatorGauges: Record<string, Record<string, number>> = {};
        for (const { name, isolator } of isolators) {
          const gauges = isolator.metrics?.();
          if (gauges) isolatorGauges[name] = { ...gauges };
        }
        return { metrics, containersByState, isolatorGauges };
      };
      const prometheus = new PrometheusMetrics({
        metrics,
        inputs: metricsInputs,
        // The path /containers takes (usage batched across containers), plus terminated records.
        reports: async () => {
          const all = [...registry.all()];
          const live = await reports(all.filter((record) => !isTerminal(record.state)));
          return [
            ...live,
            ...all.filter((record) => isTerminal(record.state)).map((record) => ({ record })),
          ];
        },
      });

      const launch = async (...args: Parameters<ContainerService['launch']>) => {
        // Before anything exists for the container: a refused launch leaves nothing behind.
        await launchFields.check(args[0]);
        return service.launch(...args);
      };
      const logFile = stderrLogFile();
      const api: AgentApi = {
        isRecovered: () => recovered,
        version: () => ({ version: AGENT_VERSION }),
        agentInfo: () => {
          const address = server?.server.address();
          const port = typeof address === 'object' && address ? address.port : flags.port;
          return agentInfoView({ ...identity, port });
        },
        flags: () => config.flagsView,
        state: () => stateView(identity, registry.all(), config.flagsView),
        getState: () => getStateView(identity, registry.all()),
        containers: async (filter: ContainersFilter) => {
          const selected = running().filter(
            (record) =>
              (filter.container_id === undefined || filter.container_id === record.key) &&
              (filter.framework_id === undefined || filter.framework_id === FRAMEWORK_ID) &&
              (filter.executor_id === undefined || filter.executor_id === record.key),
          );
          return containersView(await reports(selected));
        },
        getContainers: async () => getContainersView(await reports(running())),
        monitorStatistics: async () => monitorView(await reports(running())),
        containerizerDebug: () => ({
          pending: containerizer.list().flatMap((id) => {
            const snapshot = containerizer.snapshot(id);
            if (!snapshot || snapshot.state === 'RUNNING') return [];
            const operation = snapshot.state === 'DESTROYING' ? 'destroy' : 'launch';
            const args = { containerId: containerIdToString(id), since: snapshot.since / 1000 };
            return [{ operation, args }];
          }),
        }),
        metricsSnapshot: () => metricsSnapshot(metricsInputs()),
        loggingLevel: () => verbosity.level,
        setLoggingLevel: (level, durationMs) => verbosity.set(level, durationMs),
        files: new SandboxFiles({
          sandboxesDir: join(flags.work_dir, 'containers'),
          frameworkId: FRAMEWORK_ID,
          sandboxOf: (container) => registry.get({ value: container })?.sandbox,
          containers: () => [...registry.all()].map((record) => record.key),
          agentLog: () => logFile,
        }),
        prometheus: () => prometheus.text(),
        launch,
        wait: (id: ContainerID) => service.wait(id),
        kill: (id: ContainerID, signal: number) => service.kill(id, signal),
        remove: (id: ContainerID) => service.remove(id),
        readLog: (id, stream, offset) => {
          const record = registry.get(id);
          return record && readLogChunk(record.sandbox, stream, offset);
        },
      };

      server = buildServer({
        agent: api,
        auth: {
          ...(flags.authenticate_http_readonly && config.credentials
            ? { readonly: config.credentials }
            : {}),
          ...(flags.authenticate_http_readwrite && config.credentials
            ? { readwrite: config.credentials }
            : {}),
        },
        logger,
      });
      if (flags.runtime_socket !== undefined) {
        runtimeSocket = await startRuntimeSocket({
          path: flags.runtime_socket,
          users: flags.runtime_socket_users,
          registry,
          service,
          launch,
          ipcIsolator: isolators.some(({ name }) => name === 'namespaces/ipc'),
          logger: coreLogger(child({ component: 'runtime-socket' })),
        });
      }
      const url = await server.listen({ host: flags.ip, port: flags.port });
      logger.info(
        { url, isolation: isolators.map((i) => i.name), launcher: launcher.kind },
        'agent listening; recovering',
      );

      const began = performance.now();
      const result = await containerizer.recover();
      service.reconcile(result);
      await service.settled();
      metrics.recoverySeconds = (performance.now() - began) / 1000;
      recovered = true;
      runtimeSocket?.recovered();
      logger.info(
        {
          recovered: result.recovered.map((id) => containerIdToString(id)),
          orphans: result.orphans.map((id) => containerIdToString(id)),
          seconds: metrics.recoverySeconds,
        },
        'recovery done',
      );
      return { url };
    },

    async stop() {
      if (!server) return;
      verbosity.stop();
      await runtimeSocket?.close();
      const closing = server.close();
      const timer = setTimeout(() => server?.server.closeAllConnections(), DRAIN_TIMEOUT_MS);
      await closing;
      clearTimeout(timer);
      await records?.flush();
      logger.info('agent stopped; containers keep running and are recovered by the next start');
    },
  };
}
