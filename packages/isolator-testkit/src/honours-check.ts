import {
  type ContainerConfig,
  containerIdToString,
  covers,
  KNOWN_LAUNCH_FIELDS,
  type LaunchFieldPath,
  resourceField,
} from '@corral/core';
import type { Bench } from './harness.ts';
import { ContractViolationError, messageOf, RULES, step } from './rules.ts';

/** The launch call's names for the config's top-level keys. */
const CALL_NAMES: Readonly<Record<string, string>> = {
  command_info: 'command',
  container_info: 'container',
};

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * `value` behind a proxy that adds the launch-field path of every property read to `reads`:
 * `container_info.linux_info.seccomp` is recorded as `container.linux_info.seccomp`, any read of a
 * resource as `resources[name=<its name>]`.
 */
function tracked<T>(value: T, path: string, reads: Set<string>): T {
  if (!isObject(value)) return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const child = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || typeof child === 'function') return child;
      if (Array.isArray(target)) {
        if (!/^\d+$/.test(key)) return child;
        const name = path === 'resources' && isObject(child) && Reflect.get(child, 'name');
        const element = typeof name === 'string' ? resourceField(name) : path;
        if (element !== path) reads.add(element);
        return tracked(child, element, reads);
      }
      const field = path === '' ? (CALL_NAMES[key] ?? key) : `${path}.${key}`;
      reads.add(field);
      return tracked(child, field, reads);
    },
  });
}

/** The value the kit sets `path` to: the catalogue's example, or the one the author gave. */
function exampleFor(
  path: LaunchFieldPath,
  given: Readonly<Record<string, unknown>> | undefined,
): { path: LaunchFieldPath; value: unknown } {
  if (given && Object.hasOwn(given, path)) return { path, value: given[path] };
  const known = KNOWN_LAUNCH_FIELDS.find((field) => covers(path, field.path));
  if (known) return { path: known.path, value: known.example };
  // Resources and limits are Mesos scalars, whatever their name.
  if (/^(resources\[|limits\.)/.test(path)) return { path, value: 1 };
  throw new ContractViolationError(
    RULES.honours,
    `'${path}' is not a launch field Corral knows; give a value for it in the conformance ` +
      `options' fieldExamples, e.g. { '${path}': … }`,
  );
}

/** `config` with the launch field `path` set to `value`. */
function withField(
  config: ContainerConfig,
  path: LaunchFieldPath,
  value: unknown,
): ContainerConfig {
  const resource = /^resources\[name=(.+)\]$/.exec(path);
  if (resource) {
    const added = { name: resource[1] as string, type: 'SCALAR' as const, scalar: { value } };
    return { ...config, resources: [...(config.resources ?? []), added] } as ContainerConfig;
  }
  const [top = '', ...rest] = path.split('.');
  if (top === 'limits') {
    const limits = { ...config.limits, [rest.join('.')]: { value } };
    return { ...config, limits } as ContainerConfig;
  }
  const key = top === 'command' ? 'command_info' : 'container_info';
  const copy = structuredClone({
    [key]: (config as unknown as Record<string, unknown>)[key] ?? {},
  });
  let at = copy[key] as Record<string, unknown>;
  for (const segment of rest.slice(0, -1)) {
    at[segment] = isObject(at[segment]) ? at[segment] : {};
    at = at[segment] as Record<string, unknown>;
  }
  at[rest.at(-1) as string] = value;
  return { ...config, ...copy } as ContainerConfig;
}

/**
 * For every field the manifest says the isolator honours: `prepare` of a container that sets it
 * reads it. A field declared but never read would make the agent accept a launch whose request
 * nobody acts on, the silent downgrade the declaration exists to prevent.
 */
export async function checkHonours(
  bench: Bench,
  fieldExamples?: Readonly<Record<string, unknown>>,
): Promise<void> {
  const isolator = await bench.create();
  await step(RULES.honours, 'recover([], [])', () => isolator.recover?.([], []));
  for (const declared of bench.definition.honours ?? []) {
    const { path, value } = exampleFor(declared, fieldExamples);
    const paths = bench.container('honours');
    const key = containerIdToString(paths.id);
    const reads = new Set<string>();
    const config = tracked(withField(bench.config(paths), path, value), '', reads);
    bench.own(isolator, paths.id);
    let failure: unknown;
    try {
      await isolator.prepare?.(paths.id, config);
    } catch (error) {
      failure = error; // Refusing the example is fine, as long as prepare looked at it.
    }
    await bench.cleanup(RULES.honours, paths);
    if ([...reads].some((read) => covers(declared, read))) continue;
    const threw = failure === undefined ? '' : ` (it threw: ${messageOf(failure)})`;
    throw new ContractViolationError(
      RULES.honours,
      `the manifest says '${bench.definition.name}' honours '${declared}', but prepare(${key}) ` +
        `with ${path} = ${JSON.stringify(value)} never read it${threw}; read the field in prepare, ` +
        'or remove it from honours so the agent refuses launches that set it',
    );
  }
}
