/** Structured logger handed to isolators; the agent backs it with its own logger. */
export interface Logger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Where cgroup-based isolators put their cgroups (`--cgroups_hierarchy`, `--cgroups_root`). */
export interface CgroupsSettings {
  /** Base directory of the cgroup v1 hierarchies, default `/sys/fs/cgroup`. */
  readonly hierarchy: string;
  /** Name of Corral's cgroup under each hierarchy, default `corral`. */
  readonly root: string;
}

/** What the agent gives an isolator factory besides its flag values. */
export interface IsolatorContext {
  /** The isolator's name as given in `--isolation`. */
  readonly name: string;
  readonly logger: Logger;
  /**
   * `<runtime_dir>/isolators/<name>`: the isolator's own checkpoint directory, created by the
   * agent. Like the runtime dir, it is expected to be cleared on reboot.
   */
  readonly runtimeDir: string;
  readonly cgroups: CgroupsSettings;
  /** The agent's work and runtime dirs, for isolators that need to locate container files. */
  readonly agent: {
    readonly workDir: string;
    readonly runtimeDir: string;
  };
}

/** A logger that drops everything; handy in tests and for isolators used outside an agent. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
