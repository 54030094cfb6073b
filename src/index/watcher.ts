/**
 * Turns file system events into batches of relative paths to rescan: on
 * Linux from a tree of per-directory watches (see dir-tree-watch.ts for why),
 * elsewhere from @parcel/watcher (FSEvents, ReadDirectoryChangesW).
 * Events are coalesced per path and per folder (see coalescer.ts): a path
 * quiet for `debounceMs` is handed over at once, and everything again once
 * the folder settles, at the latest every 2 s, so a file being written
 * continuously still syncs.
 */
import watcher from '@parcel/watcher';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { ChangeCoalescer } from './coalescer.js';
import { watchTree } from './dir-tree-watch.js';

/** What the watcher needs from its owner. */
export interface FolderWatcherDeps {
  readonly root: string;
  readonly clock: Clock;
  /** Elapsed real time (see coalescer.ts). */
  readonly monotonicMs: () => number;
  /**
   * Paths (relative, '' = the whole folder) that changed. `settled` false:
   * other paths still change, so a path found gone may be half of a rename
   * or part of a mass deletion; it is handed over again once settled.
   */
  readonly onChanges: (paths: string[], settled: boolean) => void;
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
  private readonly coalescer: ChangeCoalescer;

  constructor(private readonly deps: FolderWatcherDeps) {
    this.coalescer = new ChangeCoalescer({
      clock: deps.clock,
      monotonicMs: deps.monotonicMs,
      debounceMs: deps.debounceMs,
      maxDelayMs: MAX_DELAY_MS,
      onChanges: deps.onChanges,
    });
  }

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
    this.coalescer.clear();
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.close();
  }

  private add(rels: string[]): void {
    this.coalescer.add(rels);
  }
}

/** A path.relative result that does not leave the root. */
function isInside(rel: string): boolean {
  return !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel));
}
