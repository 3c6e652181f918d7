import { type FSWatcher, watch } from 'node:fs';
import { hostOomKills } from '@corral/cgroupfs';

/**
 * Calls `onOom` soon after the kernel's OOM killer may have killed something in a container, at
 * a cost that does not grow with the number of containers:
 * - cgroup v1 has no file notification for `memory.oom_control` (only `cgroup.event_control` with
 *   an eventfd, which Node cannot create), so one timer reads the host's `oom_kill` counter in
 *   /proc/vmstat — one small read per interval whatever the number of containers;
 * - cgroup v2 counts OOM kills hierarchically in `memory.events` and notifies inotify watchers, so
 *   one watch on the root cgroup's file covers every container under it.
 * Either way the caller then reads the counters of the containers it watches.
 */
export type OomTrigger =
  | { readonly kind: 'vmstat'; readonly intervalMs: number; readonly file?: string }
  | { readonly kind: 'events'; readonly file: string };

/** Starts the trigger; the returned function stops it. Neither keeps the process alive. */
export function startOomTrigger(trigger: OomTrigger, onOom: () => void): () => void {
  if (trigger.kind === 'events') {
    let watcher: FSWatcher | undefined = watch(trigger.file, { persistent: false }, onOom);
    // The root cgroup went away (tests removing their root): nothing left to watch.
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
    return () => watcher?.close();
  }
  let seen = hostOomKills(trigger.file);
  const timer = setInterval(() => {
    const now = hostOomKills(trigger.file);
    if (now === seen) return;
    seen = now;
    onOom();
  }, trigger.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
