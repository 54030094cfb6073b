/**
 * Turns file system events into batches of relative paths to rescan: on
 * Linux from a tree of per-directory watches (see dir-tree-watch.ts for why),
 * elsewhere from @parcel/watcher (FSEvents, ReadDirectoryChangesW).
 * Events are coalesced: a path is handed over once the folder has been quiet
 * for `debounceMs`, and a path that keeps changing is handed over at least
 * every `maxDelayMs` anyway, so a file being written continuously still syncs.
 */
import watcher from '@parcel/watcher';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { watchTree } from './dir-tree-watch.js';

/** What the watcher needs from its owner. */
export interface FolderWatcherDeps {
  readonly root: string;
  readonly clock: Clock;
  /** Paths (relative, '' = the whole folder) that changed. */
  readonly onChanges: (paths: string[]) => void;
  /** The watcher failed or overflowed: only a full rescan is safe now. */
  readonly onError: (err: Error) => void;
  /** Current coalescing window (hot-reloadable, so read on every event). */
  readonly debounceMs: () => number;
}

/** Longest a changed path waits while events keep coming. */
const MAX_DELAY_MS = 2000;

/** Watches one folder root. */
export class FolderWatcher {
  private subscription: { close(): Promise<void> | void } | undefined;
  private pending = new Set<string>();
  private firstPendingAt = 0;
  private cancelTimer: (() => void) | undefined;

  constructor(private readonly deps: FolderWatcherDeps) {}

  /** Starts watching; rejects if the OS refuses (for example the inotify watch limit). */
  async start(): Promise<void> {
    if (this.subscription !== undefined) return;
    const { root } = this.deps;
    if (process.platform === 'linux') {
      this.subscription = await watchTree(root, {
        onPaths: (rels) => this.add(rels),
        onError: (err) => this.deps.onError(err),
        isExcluded: (rel) => rel === '.wizard',
      });
      return;
    }
    const sub = await watcher.subscribe(
      root,
      (err, events) => {
        if (err) {
          this.deps.onError(err);
          return;
        }
        this.add(events.map((ev) => path.relative(root, ev.path)).filter(isInside).map((rel) => rel.split(path.sep).join('/')));
      },
      { ignore: [path.join(root, '.wizard')] },
    );
    this.subscription = { close: () => sub.unsubscribe() };
  }

  /** Stops watching and drops pending events. */
  async stop(): Promise<void> {
    this.cancelTimer?.();
    this.pending.clear();
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.close();
  }

  private add(rels: string[]): void {
    const now = this.deps.clock.now();
    if (this.pending.size === 0) this.firstPendingAt = now;
    for (const rel of rels) this.pending.add(rel);
    if (this.pending.size === 0) return;
    this.cancelTimer?.();
    const waited = now - this.firstPendingAt;
    const delay = Math.max(0, Math.min(this.deps.debounceMs(), MAX_DELAY_MS - waited));
    this.cancelTimer = this.deps.clock.setTimer(delay, () => this.flush());
  }

  private flush(): void {
    this.cancelTimer = undefined;
    const paths = [...this.pending];
    this.pending.clear();
    if (paths.length > 0) this.deps.onChanges(paths);
  }
}

/** A path.relative result that does not leave the root. */
function isInside(rel: string): boolean {
  return !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel));
}
