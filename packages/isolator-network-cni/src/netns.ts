import { closeSync, openSync, statSync } from 'node:fs';

/**
 * Keeps each container's network namespace alive from ADD until its DEL, by an open file
 * descriptor of `/proc/<init>/ns/net` in the agent: plugins reach it as `/proc/<agent>/fd/<n>`
 * even after the container's processes are gone. No bind mount is made, so no other container's
 * mount namespace can copy (and pin) the handle, and nothing is left on the filesystem. After an
 * agent restart a running container's handle is opened again from its init; one whose processes
 * died meanwhile has no namespace left, and DEL runs without `CNI_NETNS`, as the spec allows.
 */
export class NetnsHandles {
  readonly #fds = new Map<string, number>();

  /** Holds the namespace of `pid`; returns the path plugins open. */
  hold(key: string, pid: number): string {
    this.release(key);
    const fd = openSync(`/proc/${pid}/ns/net`, 'r');
    // A process that shares our namespace has none of its own to hold (it died, its pid reused).
    if (statSync(`/proc/${pid}/ns/net`).ino === statSync('/proc/self/ns/net').ino) {
      closeSync(fd);
      throw new Error(`process ${pid} is in the agent's own network namespace`);
    }
    this.#fds.set(key, fd);
    return this.#path(fd);
  }

  #path(fd: number): string {
    return `/proc/${process.pid}/fd/${fd}`;
  }

  /** The path of the held namespace, or undefined when none is held. */
  live(key: string): string | undefined {
    const fd = this.#fds.get(key);
    return fd === undefined ? undefined : this.#path(fd);
  }

  release(key: string): void {
    const fd = this.#fds.get(key);
    if (fd === undefined) return;
    this.#fds.delete(key);
    closeSync(fd);
  }

  /** How many namespaces are held (for metrics and leak checks). */
  get size(): number {
    return this.#fds.size;
  }
}
