import { open, rename } from 'node:fs/promises';

/**
 * Writes `text` to `file` so that a crash leaves the old content or the new, never a torn file: a
 * temp file beside it, then rename. With `fsync` (the default) the data reaches the disk before
 * the rename, so a power loss cannot lose it either: for state that must outlive a reboot (what an
 * isolator must undo later: mounted volumes, network attachments). Without it, an agent crash
 * still finds the file (the page cache outlives the process). Runs on the threadpool, so the
 * event loop does not wait for the disk.
 */
export async function writeFileDurably(
  file: string,
  text: string,
  options: { readonly fsync?: boolean } = {},
): Promise<void> {
  const temp = `${file}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    if (options.fsync ?? true) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}
