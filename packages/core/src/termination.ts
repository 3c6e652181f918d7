import type { Resource } from './container-config.ts';

export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_KILLING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLED'
  | 'TASK_ERROR'
  | 'TASK_LOST'
  | 'TASK_GONE';

/** The subset of `TaskStatus.Reason` that the containerizer and isolators produce. */
export type TaskStatusReason =
  | 'REASON_COMMAND_EXECUTOR_FAILED'
  | 'REASON_CONTAINER_LAUNCH_FAILED'
  | 'REASON_CONTAINER_LIMITATION'
  | 'REASON_CONTAINER_LIMITATION_DISK'
  | 'REASON_CONTAINER_LIMITATION_MEMORY'
  | 'REASON_CONTAINER_PREEMPTED'
  | 'REASON_CONTAINER_RECOVERY_FAILED'
  | 'REASON_CONTAINER_UPDATE_FAILED'
  | 'REASON_EXECUTOR_TERMINATED'
  | 'REASON_TASK_KILLED_DURING_LAUNCH';

/** What `Isolator.watch` resolves with when a limit is hit; the engine then destroys the container. */
export interface ContainerLimitation {
  readonly message: string;
  readonly reason?: TaskStatusReason;
  readonly resources?: readonly Resource[];
}

/** The result of wait/destroy. */
export interface ContainerTermination {
  /**
   * The raw wait(2) status word: exit code N is N×256, death by signal S is S. Absent when the
   * command never ran (e.g. the launch failed before exec).
   */
  readonly status?: number;
  readonly state?: TaskState;
  readonly reason?: TaskStatusReason;
  readonly message?: string;
  readonly limited_resources?: readonly Resource[];
}
