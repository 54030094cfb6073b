/**
 * Turns file system events into batches of relative paths to rescan: on
 * Linux from a tree of per-directory watches (see dir-tree-watch.ts for why),
 * elsewhere from @parcel/watcher (FSEvents, ReadDirectoryChangesW).
 * Events are coalesced per path and per folder (see coalescer.ts): a path
 * quiet for `debounceMs` is handed over at once, and everything again once
 * the folder settles, at the latest every 2 s, so a file being written
 * continuously still syncs.
 *
 * What cannot be watched is polled instead: the subtrees the OS refused to
 * watch (the inotify watch limit), or the whole folder when the watcher could
 * not start at all, are handed over every POLL_MS, and watching them is tried
 * again each time, so polling ends once the limit is raised.
 */
import watcher from '@parcel/watcher';
import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { isTempName } from '../core/paths.js';
import { ChangeCoalescer } from './coalescer.js';
import { watchTree, type TreeWatch, type WatchDir } from './dir-tree-watch.js';

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
   * A poll's hand-over is settled: it is a whole look at its subtrees.
   */
  readonly onChanges: (paths: string[], settled: boolean) => void;
  /** The watcher failed or overflowed: only a full rescan is safe now. At most one call per ERROR_WINDOW_MS, plus one after it if more came. */
  readonly onError: (err: Error) => void;
  /** Part of the folder became unwatched (the one-line problem), or all of it is watched again (undefined). */
  readonly onWatchProblem?: (problem: string | undefined) => void;
  /** Current coalescing window (hot-reloadable, so read on every event). */
  readonly debounceMs: () => number;
  /** Opens one dir's watch on Linux; tests inject failures (ENOSPC) here. */
  readonly watchDir?: WatchDir;
}

/** Longest a changed path waits while events keep coming. */
const MAX_DELAY_MS = 2000;
/** How often what cannot be watched is rescanned (and watching it tried again). */
export const POLL_MS = 10_000;
/** Watcher errors each ask for a full rescan; within this window they share one. */
const ERROR_WINDOW_MS = 1000;
/** What raises the inotify watch limit, for the message. */
const RAISE_LIMIT = "raise it with 'sudo sysctl fs.inotify.max_user_watches=524288' and keep it in a file in /etc/sysctl.d/";

/** Watches one folder root. */
export class FolderWatcher {
  private subscription: { close(): Promise<void> | void } | undefined;
  private tree: TreeWatch | undefined;
  /** Why the watcher as a whole could not start: the whole folder is polled. */
  private startFailure: Error | undefined;
  private running = false;
  private reportedProblem = false;
  private cancelPoll: (() => void) | undefined;
  private readonly coalescer: ChangeCoalescer;
  private cancelErrorWindow: (() => void) | undefined;
  private errorHeldBack: Error | undefined;

  constructor(private readonly deps: FolderWatcherDeps) {
    this.coalescer = new ChangeCoalescer({
      clock: deps.clock,
      monotonicMs: deps.monotonicMs,
      debounceMs: deps.debounceMs,
      maxDelayMs: MAX_DELAY_MS,
      onChanges: deps.onChanges,
    });
  }

  /** Starts watching. Never rejects: what the OS refuses to watch is polled, and `problem` says so. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.subscribe();
    this.afterWatchChange();
  }

  /** Stops watching and polling, and drops pending events. */
  async stop(): Promise<void> {
    this.running = false;
    this.coalescer.clear();
    this.cancelPoll?.();
    this.cancelErrorWindow?.();
    this.cancelPoll = undefined;
    this.cancelErrorWindow = undefined;
    this.errorHeldBack = undefined;
    this.startFailure = undefined;
    this.reportedProblem = false;
    const sub = this.subscription;
    this.subscription = undefined;
    this.tree = undefined;
    await sub?.close();
  }

  /** Why changes in part of the folder are found by polling rather than as they happen; undefined when all of it is watched. */
  problem(): string | undefined {
    if (this.startFailure !== undefined) {
      return `cannot watch the folder (${describeError(this.startFailure)}); rescanning it every ${POLL_MS / 1000} s instead`;
    }
    const unwatched = this.tree?.unwatched();
    if (unwatched === undefined || unwatched.size === 0) return undefined;
    const errors = [...unwatched.values()];
    const what = unwatched.has('') ? 'the folder' : unwatched.size === 1 ? `1 subtree (${[...unwatched.keys()][0]})` : `${unwatched.size} subtrees (first ${[...unwatched.keys()].sort()[0]})`;
    const them = unwatched.size === 1 ? 'it' : 'them';
    if (errors.some((e) => (e as NodeJS.ErrnoException).code === 'ENOSPC')) {
      return `cannot watch ${what}: the inotify watch limit (fs.inotify.max_user_watches) is reached; rescanning ${them} every ${POLL_MS / 1000} s instead; ${RAISE_LIMIT}`;
    }
    return `cannot watch ${what} (${describeError(errors[0])}); rescanning ${them} every ${POLL_MS / 1000} s instead`;
  }

  /** Whether changes at `rel` are found by polling (it lies in a subtree that is not watched). */
  isPolled(rel: string): boolean {
    if (this.startFailure !== undefined) return true;
    for (const top of this.tree?.unwatched().keys() ?? []) {
      if (top === '' || rel === top || rel.startsWith(`${top}/`)) return true;
    }
    return false;
  }

  /** Opens the watch; a failure to start leaves the whole folder to polling. */
  private async subscribe(): Promise<void> {
    try {
      const sub = await this.open();
      if (!this.running) {
        await sub.close();
        return;
      }
      this.subscription = sub;
      this.startFailure = undefined;
    } catch (err) {
      this.startFailure = err instanceof Error ? err : new Error(String(err));
    }
  }

  private async open(): Promise<{ close(): Promise<void> | void }> {
    const { root } = this.deps;
    if (process.platform === 'linux') {
      const tree = await watchTree(root, {
        onPaths: (rels) => this.add(rels),
        // The end of an atomic save: complete, so no quiet window (see moves.ts).
        onMovedIn: (rels) => {
          if (this.running) this.coalescer.handOverNow(rels);
        },
        onError: (err) => this.reportError(err),
        onUnwatched: () => this.afterWatchChange(),
        // Wizard's own dir, and its temp files: every download makes several events on one, and none is news.
        isExcluded: (rel) => rel === '.wizard' || isTempName(rel.slice(rel.lastIndexOf('/') + 1)),
        ...(this.deps.watchDir === undefined ? {} : { watchDir: this.deps.watchDir }),
      });
      this.tree = tree;
      return tree;
    }
    const sub = await watcher.subscribe(
      root,
      (err, events) => {
        if (err) {
          this.reportError(err);
          return;
        }
        this.add(events.map((ev) => path.relative(root, ev.path)).filter(isInside).map((rel) => rel.split(path.sep).join('/')));
      },
      { ignore: [path.join(root, '.wizard')] },
    );
    return { close: () => sub.unsubscribe() };
  }

  /** Tells the owner when the folder becomes partly unwatched or fully watched again, and polls while it is partly unwatched. */
  private afterWatchChange(): void {
    if (!this.running || (this.subscription === undefined && this.startFailure === undefined)) return;
    const problem = this.problem();
    if ((problem !== undefined) !== this.reportedProblem) {
      this.reportedProblem = problem !== undefined;
      this.deps.onWatchProblem?.(problem);
    }
    if (problem !== undefined && this.cancelPoll === undefined) {
      this.cancelPoll = this.deps.clock.setTimer(POLL_MS, () => {
        this.cancelPoll = undefined;
        void this.poll().catch((err: unknown) => this.reportError(err instanceof Error ? err : new Error(String(err))));
      });
    }
  }

  /** Tries to watch what was unwatched, and hands over every such path for a rescan. */
  private async poll(): Promise<void> {
    let rescan: string[];
    if (this.startFailure !== undefined) {
      await this.subscribe();
      rescan = [''];
    } else {
      rescan = (await this.tree?.retry()) ?? [];
    }
    if (!this.running) return;
    if (rescan.length > 0) this.deps.onChanges(rescan, true);
    this.afterWatchChange();
  }

  /** Passes an error on, but a burst of them (one per dir) as one now and at most one more when the window ends. */
  private reportError(err: Error): void {
    if (!this.running) return;
    if (this.cancelErrorWindow !== undefined) {
      this.errorHeldBack = err;
      return;
    }
    this.cancelErrorWindow = this.deps.clock.setTimer(ERROR_WINDOW_MS, () => {
      this.cancelErrorWindow = undefined;
      const held = this.errorHeldBack;
      this.errorHeldBack = undefined;
      if (held !== undefined) this.reportError(held);
    });
    this.deps.onError(err);
  }

  private add(rels: string[]): void {
    if (this.running) this.coalescer.add(rels);
  }
}

/** A path.relative result that does not leave the root. */
function isInside(rel: string): boolean {
  return !(rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel));
}
