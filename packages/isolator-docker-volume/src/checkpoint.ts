import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeyedQueue, writeFileDurably } from '@corral/core';

/** One volume a container holds (or may hold) mounted through its plugin. */
export interface HeldVolume {
  readonly driver: string;
  readonly name: string;
  /** `mounting`: Mount was sent and may have taken effect; `mounted`: the plugin confirmed it. */
  readonly state: 'mounting' | 'mounted';
}

/** What is checkpointed per container, before the first Mount: enough to Unmount after a crash. */
export interface VolumeCheckpoint {
  /** The `ID` of every Mount and Unmount of this container. */
  readonly mountId: string;
  readonly volumes: readonly HeldVolume[];
}

const SUFFIX = '.json';

/**
 * Per-container checkpoints `<dir>/<container id>.json`, written durably: the directory is
 * persistent by default, so a checkpoint must survive a power loss or the volumes it names stay
 * mounted on the plugin's side forever.
 */
export class CheckpointStore {
  readonly dir: string;
  /** Writes of one container land in call order, so the newest state is the one that stays. */
  readonly #writes = new KeyedQueue();

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  #file(key: string): string {
    return join(this.dir, `${key}${SUFFIX}`);
  }

  write(key: string, checkpoint: VolumeCheckpoint): Promise<void> {
    const text = JSON.stringify(checkpoint);
    return this.#writes.run(key, () => writeFileDurably(this.#file(key), text));
  }

  /**
   * The checkpoint of `key`; undefined when there is none. An empty or torn file (a crash before
   * the data reached the disk) also gives undefined, through `onUnreadable`: nothing was mounted
   * before a complete checkpoint existed.
   */
  read(key: string, onUnreadable: (problem: string) => void): VolumeCheckpoint | undefined {
    let text: string;
    try {
      text = readFileSync(this.#file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const value = JSON.parse(text) as VolumeCheckpoint;
      if (typeof value.mountId === 'string' && Array.isArray(value.volumes)) return value;
      onUnreadable(`'${this.#file(key)}' does not hold a volume checkpoint`);
    } catch (error) {
      onUnreadable(
        `'${this.#file(key)}' is not JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    return undefined;
  }

  /** Queued behind the container's writes, so none of them recreates the file afterwards. */
  remove(key: string): Promise<void> {
    return this.#writes.run(key, async () => {
      rmSync(this.#file(key), { force: true });
      rmSync(`${this.#file(key)}.tmp`, { force: true });
    });
  }

  /** Keys of every checkpoint in the directory. */
  keys(): string[] {
    return readdirSync(this.dir)
      .filter((file) => file.endsWith(SUFFIX))
      .map((file) => file.slice(0, -SUFFIX.length));
  }
}
