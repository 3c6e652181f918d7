// The run's sizes, from the environment so a quick run can shrink them. The defaults are the
// issue's counts; only a run with every default and every scenario rewrites BENCHMARKS.md.

export type ScenarioName = 'latency' | 'throughput' | 'scale' | 'handles' | 'curve';
/** What a run without CORRAL_BENCH_ONLY runs. */
const DEFAULT_SCENARIOS: readonly ScenarioName[] = ['latency', 'throughput', 'scale', 'handles'];
/** `curve` (scale at several sizes, minutes of machine time) runs only when asked for. */
const SCENARIOS: readonly ScenarioName[] = [...DEFAULT_SCENARIOS, 'curve'];

export interface BenchConfig {
  /** Scenario 1 (with the references of scenario 3): measured launches of each kind. */
  readonly launches: number;
  /** Scenario 2: launch+kill+wait+remove cycles at each concurrency. */
  readonly cycles: number;
  readonly concurrencies: readonly number[];
  /** Scenario 4: sleeping containers. */
  readonly scale: number;
  /** Scenario 4: measured requests of each endpoint. */
  readonly scaleRounds: number;
  /** Scenario 6 (opt-in): the sizes of the scale curve, each measured like scenario 4. */
  readonly curve: readonly number[];
  /** Scenario 6: measured requests of each endpoint at each size. */
  readonly curveRounds: number;
  /** Scenario 4: SIGKILL + restart repetitions. */
  readonly recoveries: number;
  /** Scenario 5: rounds of allocating and freeing every handle. */
  readonly handleRounds: number;
  readonly scenarios: readonly ScenarioName[];
  /** When set, every agent runs with `--cpu-prof` into this directory. */
  readonly cpuProfDir: string | undefined;
  /** Whether this run may rewrite BENCHMARKS.md and results/latest.json. */
  readonly full: boolean;
}

const DEFAULTS = {
  CORRAL_BENCH_LAUNCHES: 500,
  CORRAL_BENCH_CYCLES: 1000,
  CORRAL_BENCH_SCALE: 1000,
  CORRAL_BENCH_SCALE_ROUNDS: 50,
  CORRAL_BENCH_RECOVERIES: 3,
  CORRAL_BENCH_HANDLE_ROUNDS: 20,
  CORRAL_BENCH_CURVE_ROUNDS: 20,
} as const;

const DEFAULT_CURVE = [1000, 5000, 10000];

function count(env: NodeJS.ProcessEnv, name: keyof typeof DEFAULTS): number {
  const text = env[name];
  if (text === undefined || text === '') return DEFAULTS[name];
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(
      `${name}=${JSON.stringify(text)} is not a valid count: expected an integer >= 1`,
    );
  }
  return value;
}

function sizes(env: NodeJS.ProcessEnv): number[] {
  const text = env.CORRAL_BENCH_CURVE;
  if (text === undefined || text === '') return DEFAULT_CURVE;
  return text.split(',').map((item) => {
    const value = Number(item.trim());
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(
        `CORRAL_BENCH_CURVE=${JSON.stringify(text)} is not a list of counts: expected e.g. 1000,5000,10000`,
      );
    }
    return value;
  });
}

function scenarios(env: NodeJS.ProcessEnv): ScenarioName[] {
  const text = env.CORRAL_BENCH_ONLY;
  if (text === undefined || text === '') return [...DEFAULT_SCENARIOS];
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new Error(
        `CORRAL_BENCH_ONLY names an unknown scenario '${name}': accepted ${SCENARIOS.join(', ')}`,
      );
    }
  }
  return names as ScenarioName[];
}

export function loadConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const overridden = Object.keys(DEFAULTS).some((name) => (env[name] ?? '') !== '');
  const selected = scenarios(env);
  return {
    launches: count(env, 'CORRAL_BENCH_LAUNCHES'),
    cycles: count(env, 'CORRAL_BENCH_CYCLES'),
    concurrencies: [1, 8, 32],
    scale: count(env, 'CORRAL_BENCH_SCALE'),
    scaleRounds: count(env, 'CORRAL_BENCH_SCALE_ROUNDS'),
    curve: sizes(env),
    curveRounds: count(env, 'CORRAL_BENCH_CURVE_ROUNDS'),
    recoveries: count(env, 'CORRAL_BENCH_RECOVERIES'),
    handleRounds: count(env, 'CORRAL_BENCH_HANDLE_ROUNDS'),
    scenarios: selected,
    cpuProfDir: env.CORRAL_BENCH_CPU_PROF || undefined,
    // The curve may join a full run; its sizes do not make a run partial.
    full:
      !overridden &&
      DEFAULT_SCENARIOS.every((name) => selected.includes(name)) &&
      !env.CORRAL_BENCH_CPU_PROF,
  };
}
