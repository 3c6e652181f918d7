import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '@corral/core';
import type { AttachmentRecord } from './attachment.ts';

const SUFFIX = '.json';

/**
 * The attachments of each container, `<dir>/<container id>/<network>.json`, written durably in a
 * persistent directory: after a reboot the netns is gone but DEL still needs what ADD was given,
 * or IPAM leases and host-side state leak.
 */
export class AttachmentStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /**
   * `durable` (before ADD) reaches the disk before it returns: after a power loss, DEL still
   * needs it. The record with ADD's result is only needed while the netns lives, so an agent
   * crash (the page cache survives) is all it must outlive: no fsync on the launch path.
   */
  async write(key: string, record: AttachmentRecord, durable: boolean): Promise<void> {
    if (durable) await mkdir(join(this.dir, key), { recursive: true });
    const file = join(this.dir, key, `${record.network}${SUFFIX}`);
    await writeFileDurably(file, JSON.stringify(record), { fsync: durable });
  }

  /** The container's attachments; `onUnreadable` hears of files a crash left torn. */
  read(key: string, onUnreadable: (file: string, problem: string) => void): AttachmentRecord[] {
    const dir = join(this.dir, key);
    if (!existsSync(dir)) return [];
    const records: AttachmentRecord[] = [];
    for (const file of readdirSync(dir)
      .filter((name) => name.endsWith(SUFFIX))
      .sort()) {
      try {
        records.push(JSON.parse(readFileSync(join(dir, file), 'utf8')) as AttachmentRecord);
      } catch (error) {
        onUnreadable(join(dir, file), error instanceof Error ? error.message : String(error));
      }
    }
    return records;
  }

  remove(key: string, network?: string): void {
    if (network === undefined) rmSync(join(this.dir, key), { recursive: true, force: true });
    else rmSync(join(this.dir, key, `${network}${SUFFIX}`), { force: true });
  }

  /** Every container with a directory here. */
  keys(): string[] {
    return readdirSync(this.dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  }
}
