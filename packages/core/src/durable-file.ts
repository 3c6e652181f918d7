import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/**
 * Writes `text` to `file` so that a crash or power loss leaves the old content or the new, never
 * a torn file: a temp file beside it, fsync, then rename. For state that must outlive a reboot
 * (what an isolator must undo later: mounted volumes, network attachments).
 */
export function writeFileDurably(file: string, text: string): void {
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}
