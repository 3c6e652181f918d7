import { existsSync, readFileSync } from 'node:fs';
import { type FileHandle, open, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '@corral/core';

type Entry<T> = { readonly save: T } | { readonly remove: string };

/** Rewrite the journal once it holds this many lines and at least 4 per live record. */
const COMPACT_AFTER_LINES = 1000;

/**
 * The agent's container records as an append-only JSON-lines file: every save or removal is one
 * appended line, written in the order made, several coalesced into one write. A file per record
 * cost a create and a rename per change, journaled metadata updates that capped a disk-backed
 * agent's launch rate. When stale lines outnumber live records, the file is rewritten with only
 * the live ones (write, then rename). No fsync: the records are informational, recovery relies
 * on the containerizer's checkpoints.
 */
export class Journal<T extends { readonly key: string }> {
  private readonly file: string;
  private readonly logger: Logger;
  private readonly live = new Map<string, T>();
  private lines = 0;
  private queue: string[] = [];
  private writing: Promise<void> | undefined;
  private handle: FileHandle | undefined;

  constructor(file: string, logger: Logger) {
    this.file = file;
    this.logger = logger;
  }

  /** Replays the file (at start). A torn last line, from a crash mid-append, is ignored. */
  load(): T[] {
    if (!existsSync(this.file)) return [];
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (line === '') continue;
      let entry: Entry<T>;
      try {
        entry = JSON.parse(line) as Entry<T>;
      } catch {
        this.logger.warn('ignoring a torn line in the container journal', { file: this.file });
        continue;
      }
      this.lines += 1;
      if ('save' in entry) this.live.set(entry.save.key, entry.save);
      else this.live.delete(entry.remove);
    }
    return [...this.live.values()];
  }

  save(record: T): void {
    this.live.set(record.key, record);
    this.append({ save: record });
  }

  remove(key: string): void {
    this.live.delete(key);
    this.append({ remove: key });
  }

  /** Resolves once everything appended so far is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private append(entry: Entry<T>): void {
    this.queue.push(`${JSON.stringify(entry)}\n`);
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.join('');
      this.lines += this.queue.length;
      this.queue = [];
      try {
        this.handle ??= await open(this.file, 'a');
        await this.handle.write(batch);
        if (this.lines >= COMPACT_AFTER_LINES && this.lines >= 4 * this.live.size)
          await this.compact();
      } catch (error) {
        this.logger.error('container journal write failed', {
          file: this.file,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  /** Rewrites the file with only the live records; runs between appends, never during one. */
  private async compact(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const temp = `${this.file}.tmp`;
    const text = [...this.live.values()].map((record) => `${JSON.stringify({ save: record })}\n`);
    await writeFile(temp, text.join(''));
    await rename(temp, this.file);
    this.lines = this.live.size;
  }
}
