/**
 * A stand-in for fs.watch that refuses chosen dirs the way the kernel does
 * when the inotify watch limit is reached (ENOSPC), and keeps the real
 * watches it opens so a test can make one fail (emit 'error') or lose events.
 * The limit itself is never touched: it is shared by every process of the user.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type { WatchDir } from '../../src/index/dir-tree-watch.js';

/** Watches that fail on request. */
export class WatchFaults {
  /** Absolute dirs refused with ENOSPC, each with everything below it. */
  readonly refused = new Set<string>();
  /** Open watches by absolute dir. */
  readonly open = new Map<string, FSWatcher>();
  /** While true, events are dropped, as when the kernel's event queue overflows. */
  blind = false;
  /** Absolute paths of the events dropped while blind, so a test can wait until the events it expects were lost. */
  readonly dropped: string[] = [];
  /** Absolute paths of the events passed on, so a test can wait until an event it expects has arrived. */
  readonly delivered: string[] = [];

  readonly watchDir: WatchDir = (absDir, listener) => {
    if ([...this.refused].some((r) => absDir === r || absDir.startsWith(`${r}${path.sep}`))) {
      throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${absDir}'`), { code: 'ENOSPC', errno: -28, syscall: 'watch', path: absDir });
    }
    const w = watch(absDir, { persistent: false }, (event, name) => {
      (this.blind ? this.dropped : this.delivered).push(path.join(absDir, String(name ?? '')));
      if (!this.blind) listener(event, name);
    });
    w.on('close', () => {
      if (this.open.get(absDir) === w) this.open.delete(absDir);
    });
    this.open.set(absDir, w);
    return w;
  };
}
