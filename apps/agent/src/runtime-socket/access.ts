import { readFileSync } from 'node:fs';
import { HOST_USER_FILES, lookUpUser, type UserFiles, userNameOf } from '@corral/containerizer';
import type { Caller } from './bundle.ts';
import { RuntimeCallerRefusedError } from './errors.ts';

/**
 * Who may use the runtime socket, from `--runtime_socket_users`: root always, plus the listed user
 * names and `@group` names (members by /etc/group, or by primary group), or `*` for every user.
 * Names are looked up per connection, so users added later count at once.
 */
export class CallerPolicy {
  readonly #entries: readonly string[];
  readonly #files: UserFiles;

  constructor(list: string, files: UserFiles = HOST_USER_FILES) {
    this.#entries = list
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    this.#files = files;
  }

  #groupId(name: string): number | undefined {
    const line = readFileSync(this.#files.group, 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[0] === name);
    const gid = line?.split(':')[2];
    return gid !== undefined && /^\d+$/.test(gid) ? Number(gid) : undefined;
  }

  /** Throws `RuntimeCallerRefusedError` unless `caller` may use the socket. */
  check(caller: Caller): void {
    if (caller.uid === 0 || this.#entries.includes('*')) return;
    const name = userNameOf(caller.uid, this.#files);
    const user = name === undefined ? undefined : lookUpUser(name, this.#files);
    const allowed = this.#entries.some((entry) => {
      if (!entry.startsWith('@')) return entry === name;
      const gid = this.#groupId(entry.slice(1));
      return gid !== undefined && (user?.groups.includes(gid) ?? false);
    });
    if (!allowed) {
      const who = name === undefined ? `uid ${caller.uid}` : `user '${name}' (uid ${caller.uid})`;
      throw new RuntimeCallerRefusedError(
        `${who} may not use this runtime socket: it admits root${this.#entries.length > 0 ? ` and ${this.#entries.join(', ')}` : ' only'} (--runtime_socket_users)`,
      );
    }
  }
}
