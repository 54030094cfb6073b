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

  readonly watchDir: WatchDir = (absDir, listener) => {
    if ([...this.refused].some((r) => absDir === r || absDir.startsWith(`${r}${path.sep}`))) {
      throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${absDir}'`), { code: 'ENOSPC', errno: -28, syscall: 'watch', path: absDir });
    }
    const w = watch(absDir, { persistent: false }, (event, name) => {
      if (!this.blind) listener(event, name);
    });
    w.on('close', () => {
      if (this.open.get(absDir) === w) this.open.delete(absDir);
    });
    this.open.set(absDir, w);
    return w;
  };
}
