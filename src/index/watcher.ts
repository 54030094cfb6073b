/**
 * Turns @parcel/watcher events into batches of relative paths to rescan.
 * Events are coalesced: a path is handed over once the folder has been quiet
 * for `debounceMs`, and a path that keeps changing is handed over at least
 * every `maxDelayMs` anyway, so a file being written continuously still syncs.
 */
import watcher, { type AsyncSubscription, type Event } from '@parcel/watcher';
import path from 'node:path';
import type { Clock } from '../core/clock.js';

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
  private subscription: AsyncSubscription | undefined;
  private pending = new Set<string>();
  private firstPendingAt = 0;
  private cancelTimer: (() => void) | undefined;

  constructor(private readonly deps: FolderWatcherDeps) {}

  /** Starts watching; rejects if the OS refuses (for example the inotify watch limit). */
  async start(): Promise<void> {
    if (this.subscription !== undefined) return;
    this.subscription = await watcher.subscribe(
      this.deps.root,
      (err, events) => {
        if (err) {
          this.deps.onError(err);
          return;
        }
        this.add(events);
      },
      { ignore: [path.join(this.deps.root, '.wizard')] },
    );
  }

  /** Stops watching and drops pending events. */
  async stop(): Promise<void> {
    this.cancelTimer?.();
    this.pending.clear();
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.unsubscribe();
  }

  private add(events: Event[]): void {
    const now = this.deps.clock.now();
    if (this.pending.size === 0) this.firstPendingAt = now;
    for (const ev of events) {
      const rel = path.relative(this.deps.root, ev.path);
      if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) continue;
      this.pending.add(rel.split(path.sep).join('/'));
    }
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
