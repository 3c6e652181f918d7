import {
  type ContainerLaunchInfo,
  type ContainerState,
  containerIdToString,
  type Isolator,
} from '@corral/core';
import type { Bench, ContainerPaths, ContainerProcess } from './harness.ts';
import { type ContractRule, ContractViolationError, messageOf, RULES, step } from './rules.ts';

/** Every field of a launch info; `satisfies` keeps the list in step with `@corral/core`. */
const LAUNCH_INFO_FIELDS = Object.keys({
  environment: true,
  clone_namespaces: true,
  enter_namespaces: true,
  mounts: true,
  rlimits: true,
  effective_capabilities: true,
  bounding_capabilities: true,
  working_directory: true,
  hostname: true,
  supplementary_groups: true,
  no_new_privileges: true,
} satisfies Record<keyof ContainerLaunchInfo, true>);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkLaunchInfo(info: unknown, call: string): void {
  if (info === undefined) return;
  if (!isRecord(info)) {
    throw new ContractViolationError(
      RULES.launchInfo,
      `${call} resolved to ${JSON.stringify(info)}; return a launch info object or undefined`,
    );
  }
  const unknown = Object.keys(info).filter((field) => !LAUNCH_INFO_FIELDS.includes(field));
  if (unknown.length > 0) {
    throw new ContractViolationError(
      RULES.launchInfo,
      `${call} set ${unknown.map((field) => `'${field}'`).join(', ')}, which the engine does not ` +
        `know; a launch info has only ${LAUNCH_INFO_FIELDS.join(', ')}`,
    );
  }
}

function checkReport(rule: ContractRule, call: string, report: unknown): void {
  if (!isRecord(report)) {
    throw new ContractViolationError(
      rule,
      `${call} resolved to ${JSON.stringify(report)}; expected an object`,
    );
  }
}

/** The agent calls `recover` once at start, before anything else, even with nothing to recover. */
async function started(bench: Bench): Promise<Isolator> {
  const isolator = await bench.create();
  await step(RULES.recoverNothing, 'recover([], [])', () => isolator.recover?.([], []));
  return isolator;
}

/** `prepare` then `isolate` on a running process, as a launch does. */
async function launch(
  bench: Bench,
  isolator: Isolator,
  paths: ContainerPaths,
  rule: ContractRule,
): Promise<ContainerProcess> {
  const key = containerIdToString(paths.id);
  bench.own(isolator, paths.id);
  const info = await step(rule, `prepare(${key})`, () =>
    isolator.prepare?.(paths.id, bench.config(paths)),
  );
  checkLaunchInfo(info, `prepare(${key})`);
  const init = await bench.spawn(paths);
  await step(rule, `isolate(${key}, ${init.pid})`, () => isolator.isolate?.(paths.id, init.pid));
  return init;
}

/** `status` and `usage` of a known container resolve to objects (when implemented). */
async function report(isolator: Isolator, paths: ContainerPaths, rule: ContractRule) {
  const key = containerIdToString(paths.id);
  if (isolator.status) {
    const status = await step(rule, `status(${key})`, () => isolator.status?.(paths.id));
    checkReport(rule, `status(${key})`, status);
  }
  if (isolator.usage) {
    const usage = await step(rule, `usage(${key})`, () => isolator.usage?.(paths.id));
    checkReport(rule, `usage(${key})`, usage);
  }
}

async function expectFound(
  bench: Bench,
  isolator: Isolator,
  paths: ContainerPaths,
  rule: ContractRule,
  when: string,
): Promise<void> {
  if (!bench.options.holdsResources) return;
  if ((await bench.probe(isolator, paths)).length > 0) return;
  throw new ContractViolationError(
    rule,
    `the probe finds nothing for '${containerIdToString(paths.id)}' ${when}, although the ` +
      'isolator holds resources for every running container (holdsResources: true)',
  );
}

async function expectNothingLeft(
  bench: Bench,
  isolator: Isolator,
  paths: ContainerPaths,
  rule: ContractRule,
  after: string,
): Promise<void> {
  const left = await bench.probe(isolator, paths);
  if (left.length === 0) return;
  const detail = `after ${after} the probe still finds: ${left.join('; ')}`;
  // Leaks found by the lifecycle rule are the leftover rule itself; elsewhere, name both.
  throw new ContractViolationError(
    rule,
    rule === RULES.noLeftovers ? detail : `${detail} (${RULES.noLeftovers})`,
  );
}

export async function checkCreate(bench: Bench): Promise<void> {
  await bench.create();
}

export async function checkRecoverNothing(bench: Bench): Promise<void> {
  await started(bench);
}

/** A watch must not settle for a container that hits no limit; returns a check for later. */
function watchOf(isolator: Isolator, paths: ContainerPaths, signal: AbortSignal): () => void {
  if (!isolator.watch) return () => {};
  const key = containerIdToString(paths.id);
  let settled: string | undefined;
  let watching: unknown;
  try {
    watching = isolator.watch(paths.id, signal);
  } catch (error) {
    throw new ContractViolationError(RULES.lifecycle, `watch(${key}) threw: ${messageOf(error)}`);
  }
  if (!(watching instanceof Promise)) {
    throw new ContractViolationError(RULES.lifecycle, `watch(${key}) did not return a promise`);
  }
  watching.then(
    (limitation: unknown) => {
      settled ??= `resolved with ${JSON.stringify(limitation)}`;
    },
    (error: unknown) => {
      settled ??= `rejected: ${messageOf(error)}`;
    },
  );
  return () => {
    if (settled !== undefined && !signal.aborted) {
      throw new ContractViolationError(
        RULES.lifecycle,
        `watch(${key}) ${settled} although the container hit no limit; a watch settles only on a limit`,
      );
    }
  };
}

export async function checkLifecycle(bench: Bench): Promise<void> {
  const isolator = await started(bench);
  const paths = bench.container('lifecycle');
  const init = await launch(bench, isolator, paths, RULES.lifecycle);
  const watches = new AbortController();
  const checkWatch = watchOf(isolator, paths, watches.signal);
  await report(isolator, paths, RULES.lifecycle);
  if (isolator.metrics) {
    const metrics = await step(RULES.lifecycle, 'metrics()', () => isolator.metrics?.());
    const bad = Object.entries(metrics ?? {}).find(([, value]) => !Number.isFinite(value));
    if (!isRecord(metrics) || bad) {
      throw new ContractViolationError(
        RULES.lifecycle,
        `metrics() gave ${JSON.stringify(metrics)}; expected an object of finite numbers`,
      );
    }
  }
  await expectFound(bench, isolator, paths, RULES.probeSees, 'after isolate');
  await new Promise((resolve) => setImmediate(resolve));
  checkWatch();
  await bench.stop(init);
  watches.abort();
  await bench.cleanup(RULES.lifecycle, paths);
  const call = `cleanup(${containerIdToString(paths.id)})`;
  await expectNothingLeft(bench, isolator, paths, RULES.noLeftovers, call);
}

export async function checkCleanupUnknown(bench: Bench): Promise<void> {
  const isolator = await started(bench);
  const paths = bench.container('never-prepared');
  bench.own(isolator, paths.id);
  await bench.cleanup(RULES.cleanupUnknown, paths);
}

export async function checkCleanupAfterFailedPrepare(bench: Bench): Promise<void> {
  const invalidConfig = bench.options.invalidConfig;
  if (!invalidConfig) throw new Error('checkCleanupAfterFailedPrepare needs options.invalidConfig');
  const isolator = await started(bench);
  const paths = bench.container('failed-prepare');
  const key = containerIdToString(paths.id);
  bench.own(isolator, paths.id);
  let prepared = false;
  try {
    await isolator.prepare?.(paths.id, invalidConfig(paths));
    prepared = true;
  } catch {
    // The failure this rule is about; the engine goes on to cleanup.
  }
  if (prepared) {
    throw new ContractViolationError(
      RULES.cleanupAfterFailedPrepare,
      `prepare(${key}) succeeded with the config from 'invalidConfig', which must make it fail`,
    );
  }
  await bench.cleanup(RULES.cleanupAfterFailedPrepare, paths);
  await expectNothingLeft(
    bench,
    isolator,
    paths,
    RULES.cleanupAfterFailedPrepare,
    'the failed prepare and cleanup',
  );
}

/**
 * An agent restart: one instance launches two containers and is dropped without cleanup; a new
 * instance recovers one as running and one as an orphan, then cleans both up.
 */
export async function checkRecover(bench: Bench): Promise<void> {
  const before = await started(bench);
  const running = bench.container('running');
  const orphan = bench.container('orphan');
  const runningInit = await launch(bench, before, running, RULES.recover);
  const orphanInit = await launch(bench, before, orphan, RULES.recover);

  const after = await bench.create();
  const states: ContainerState[] = [
    {
      container_id: running.id,
      pid: runningInit.pid,
      directory: running.directory,
      runtime_directory: running.runtime_directory,
      config: bench.config(running),
    },
  ];
  const call = `recover([${running.id.value}], [${orphan.id.value}])`;
  bench.own(after, running.id);
  bench.own(after, orphan.id);
  await step(RULES.recover, call, () => after.recover?.(states, [orphan.id]));

  await expectFound(bench, after, running, RULES.recover, `after ${call}, while it still runs`);
  await report(after, running, RULES.recover);

  await bench.stop(orphanInit);
  await bench.cleanup(RULES.recover, orphan);
  await expectNothingLeft(bench, after, orphan, RULES.recover, `${call} and cleanup of the orphan`);

  await bench.stop(runningInit);
  await bench.cleanup(RULES.recover, running);
  await expectNothingLeft(bench, after, running, RULES.recover, `${call} and cleanup`);
}
