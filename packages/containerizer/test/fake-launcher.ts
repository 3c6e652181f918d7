import type { ContainerID } from '@corral/core';
import { containerIdToString } from '@corral/core';
import type { InitSpec, Launcher, PendingInit, RecoverableInit } from '@corral/launcher';

/** A launcher test double: no processes; each init exits when the test (or destroy) says so. */
export class FakeLauncher implements Launcher {
  readonly kind = 'posix' as const;
  readonly specs = new Map<string, InitSpec>();
  readonly released = new Set<string>();
  readonly destroyed: string[] = [];
  private readonly exits = new Map<string, (status: number) => void>();
  /** Above Linux's PID_MAX_LIMIT (2^22): a signal to a fake pid can never reach a real process. */
  private nextPid = 5_000_000;
  failRelease?: Error;
  recoverable: { running: string[]; orphans: ContainerID[] } = { running: [], orphans: [] };

  async fork(id: ContainerID, spec: InitSpec): Promise<PendingInit> {
    const key = containerIdToString(id);
    this.specs.set(key, spec);
    let exit!: (status: number) => void;
    const exited = new Promise<number>((resolve) => {
      exit = resolve;
    });
    this.exits.set(key, exit);
    return {
      pid: this.nextPid++,
      startTime: 1,
      release: async () => {
        if (this.failRelease) throw this.failRelease;
        this.released.add(key);
      },
      abort: () => undefined,
      exited,
    };
  }

  /** Makes the container's init exit with `status`. */
  exit(key: string, status: number): void {
    this.exits.get(key)?.(status);
  }

  async recover(expected: readonly RecoverableInit[]) {
    const running = new Map<string, Promise<number>>();
    for (const init of expected) {
      const key = containerIdToString(init.id);
      if (!this.recoverable.running.includes(key)) continue;
      running.set(
        key,
        new Promise<number>((resolve) => {
          this.exits.set(key, resolve);
        }),
      );
    }
    return { running, orphans: this.recoverable.orphans };
  }

  async destroy(id: ContainerID): Promise<void> {
    const key = containerIdToString(id);
    this.destroyed.push(key);
    this.exit(key, 9);
  }
}
