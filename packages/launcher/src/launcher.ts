import type { Capability, ContainerID, ContainerMountInfo, Namespace, RLimit } from '@corral/core';

/** The ids the command runs with, set by the init after isolation, just before exec. */
export interface InitUser {
  readonly uid: number;
  readonly gid: number;
}

/** Everything the native init helper needs to start a container's command. */
export interface InitSpec {
  /** Full argv; a shell command is already `['/bin/sh', '-c', value]`. Looked up in PATH. */
  readonly argv: readonly string[];
  /** The command's complete environment (the helper adds a default PATH if missing). */
  readonly environment: Readonly<Record<string, string>>;
  /** Created if missing, then the command's cwd. */
  readonly workingDirectory: string;
  /** Namespaces to create before the command runs. */
  readonly cloneNamespaces: readonly Namespace[];
  /** Applied in order inside the new mount namespace (requires `mnt` in cloneNamespaces). */
  readonly mounts: readonly ContainerMountInfo[];
  readonly rlimits: readonly RLimit[];
  /** Set inside a new UTS namespace. */
  readonly hostname?: string;
  /** Absent: the command keeps the agent's ids. */
  readonly user?: InitUser;
  /** Supplementary groups (setgroups); absent: the agent's. */
  readonly groups?: readonly number[];
  /**
   * What the command runs with: exactly these capabilities (for root too). Absent: those its
   * user gets at exec (all of the bounding set for root, none for other users).
   */
  readonly effectiveCapabilities?: readonly Capability[];
  /** Everything else is dropped from the bounding set. Absent: the agent's bounding set. */
  readonly boundingCapabilities?: readonly Capability[];
  /** Sets no_new_privs: exec gains nothing from setuid bits or file capabilities. */
  readonly noNewPrivileges?: boolean;
  /** The helper writes the command's wait(2) status here, atomically, when the command exits. */
  readonly statusFile: string;
  /** Files that receive the command's stdout and stderr (appended, created if missing). */
  readonly stdoutFile: string;
  readonly stderrFile: string;
}

/**
 * A container init that exists but is blocked on the sync pipe: its namespaces exist, the command
 * has not run. The caller isolates `pid` (cgroups, classids), then releases or aborts it.
 */
export interface PendingInit {
  readonly pid: number;
  /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22): with the pid it
   * identifies the process even after pid reuse. */
  readonly startTime: number;
  /**
   * Lets the init run the command. Resolves once the command has been exec'd; rejects with a
   * `LaunchError` carrying the helper's message if anything before exec failed (a mount, chdir,
   * rlimit, or exec itself, e.g. "exec 'nosuch': No such file or directory").
   */
  release(): Promise<void>;
  /** Closes the sync pipe: the init exits without running the command. Idempotent. */
  abort(): void;
  /**
   * Resolves with the command's wait status once the init has exited (read from the status file;
   * SIGKILL's status 9 when the init died without writing one).
   */
  readonly exited: Promise<number>;
}

/** A container that survived an agent restart, as checkpointed. */
export interface RecoverableInit {
  readonly id: ContainerID;
  readonly pid: number;
  readonly startTime: number;
  readonly statusFile: string;
}

/** What a launcher finds of the containers from before a restart. */
export interface LauncherRecovery {
  /** Per container still running (pid alive with the same start time): its wait status, later. */
  readonly running: ReadonlyMap<string, Promise<number>>;
  /** Tracked containers nobody expected. */
  readonly orphans: readonly ContainerID[];
}

/**
 * Starts container inits and tracks every process a container starts, so destroy can kill them
 * all (Mesos' Launcher). `linux` tracks with a cgroup it owns (v2 `cgroup.kill`, else the v1
 * freezer); `posix` uses the init's process group.
 */
export interface Launcher {
  readonly kind: 'linux' | 'posix';
  /** Starts the init for `id`, blocked on the sync pipe and already tracked. */
  fork(id: ContainerID, spec: InitSpec): Promise<PendingInit>;
  /**
   * Finds the inits of containers from before a restart: returns, per container that is still
   * running (pid alive with the same start time), a promise of its wait status; plus the ids of
   * tracked containers nobody expected (orphans).
   */
  recover(expected: readonly RecoverableInit[]): Promise<LauncherRecovery>;
  /**
   * Kills every process of the container (including daemonised descendants) and waits until none
   * is left, then drops the tracking. Succeeds for an unknown container.
   */
  destroy(id: ContainerID): Promise<void>;
}
