/**
 * A recursive watch built from one inotify watch per directory (fs.watch),
 * for Linux. @parcel/watcher's inotify backend watches a new directory when
 * it sees it created, but not the directories already inside it by then: a
 * `mkdir -p a/b/c` (a git clone, an unzip, a build) leaves `a/b` and `a/b/c`
 * unwatched, and later saves there go unseen until the periodic rescan.
 * Here a new directory is watched first and read second, so nothing created
 * inside it can fall between the two.
 *
 * A directory the OS refuses to watch (ENOSPC: the inotify watch limit,
 * `fs.inotify.max_user_watches`; EACCES) is not an error of the whole watch:
 * its subtree is remembered as unwatched, for the owner to poll and to `retry`.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { joinNames } from '../core/paths.js';
import { processInotifyQueue, type InotifyQueue } from './inotify-queue.js';
import { MoveSpotter } from './moves.js';

/** Opens the watch of one directory: fs.watch, or a test's stand-in that fails for chosen dirs. */
export type WatchDir = (absDir: string, listener: (event: string, filename: string | Buffer | null) => void) => FSWatcher;

const watchDirWithFs: WatchDir = (absDir, listener) => watch(absDir, { persistent: false }, listener);

/** A running tree watch. */
export interface TreeWatch {
  close(): void;
  /** Subtrees whose top dir could not be watched, with why: nothing inside them is reported. */
  unwatched(): ReadonlyMap<string, Error>;
  /**
   * Tries to watch each unwatched subtree again. Returns the subtrees that
   * were unwatched: each needs a rescan, whether it is still unwatched (the
   * poll), watched now (changes made before its watch), or gone.
   */
  retry(): Promise<string[]>;
}

/** What the tree watch reports to. */
export interface TreeWatchHandlers {
  /** Relative paths that changed ('' is the root). */
  readonly onPaths: (rels: string[]) => void;
  /** Files among those reported that were moved into place, complete (see moves.ts); after their onPaths, in the same turn. */
  readonly onMovedIn?: (rels: string[]) => void;
  /** A watch failed while running, or the kernel's event queue overflowed: what they would have reported is lost. */
  readonly onError: (err: Error) => void;
  /** A dir could not be watched (for example ENOSPC: the inotify watch limit); its subtree is unwatched now. */
  readonly onUnwatched?: (rel: string, err: Error) => void;
  /** Relative paths not to watch below (Wizard's own dir). */
  readonly isExcluded: (rel: string) => boolean;
  /** Opens one dir's watch; fs.watch unless a test injects failures. */
  readonly watchDir?: WatchDir;
  /** Where overflows of the inotify event queue are noticed: the process's one queue unless a test gives its own. */
  readonly queue?: InotifyQueue;
}

/** Watches `root` and every directory below it. */
export async function watchTree(root: string, handlers: TreeWatchHandlers): Promise<TreeWatch> {
  const watches = new Map<string, FSWatcher>();
  const unwatched = new Map<string, Error>();
  const watchDir = handlers.watchDir ?? watchDirWithFs;
  const queue = handlers.queue ?? processInotifyQueue();
  let closed = false;
  const stopOverflowWatch = queue.onOverflow(() => {
    if (!closed) handlers.onError(Object.assign(new Error('the inotify event queue overflowed (fs.inotify.max_queued_events): events were lost'), { code: 'EOVERFLOW' }));
  });

  const abs = (rel: string) => (rel === '' ? root : joinNames(root, rel));

  // What this turn's events moved into place, told once every event the turn read was handled.
  const moves = new MoveSpotter();
  const spotMove = (note: (m: MoveSpotter) => void) => {
    if (handlers.onMovedIn === undefined) return;
    const first = moves.isEmpty;
    note(moves);
    if (!first) return;
    // Runs after the poll phase that delivered this event and every other one read with it.
    setImmediate(() => {
      const moved = moves.take();
      if (!closed && moved.length > 0) handlers.onMovedIn?.(moved);
    });
  };
  const isBelow = (dir: string, rel: string) => dir === rel || rel === '' || dir.startsWith(`${rel}/`);

  const unwatchBelow = (rel: string) => {
    for (const [dir, w] of watches) {
      if (isBelow(dir, rel)) {
        w.close();
        watches.delete(dir);
      }
    }
    for (const dir of unwatched.keys()) if (isBelow(dir, rel)) unwatched.delete(dir);
  };

  const markUnwatched = (dir: string, err: Error) => {
    unwatched.set(dir, err);
    handlers.onUnwatched?.(dir, err);
  };

  const onEvent = (dir: string, event: string, filename: string | Buffer | null) => {
    queue.note();
    if (closed) return;
    if (filename === null) {
      handlers.onPaths([dir]);
      return;
    }
    const rel = dir === '' ? String(filename) : `${dir}/${String(filename)}`;
    if (handlers.isExcluded(rel)) return;
    handlers.onPaths([rel]);
    // Written to or chmodded ('change': IN_MODIFY, IN_ATTRIB): the name neither appeared nor went, so
    // no watch changes. Skipping the lstat matters in a burst, where most events are writes.
    if (event === 'change') return;
    // A name appeared or went: a new dir needs watching, a gone one releases its watches. The lstat is
    // synchronous: the name was just created or removed, so its dentry is cached (see realAncestors).
    let isDir: boolean;
    try {
      const st = lstatSync(abs(rel));
      isDir = st.isDirectory();
      if (st.isFile()) spotMove((m) => m.fileAppeared(rel));
    } catch {
      unwatchBelow(rel);
      spotMove((m) => m.vanished(rel));
      return;
    }
    if (isDir && !watches.has(rel)) {
      addTree(rel)
        .then(() => handlers.onPaths([rel]))
        .catch((err: unknown) => handlers.onError(err instanceof Error ? err : new Error(String(err))));
    }
  };

  /** Watches `rel`, then reads it and does the same for every dir inside. */
  const addTree = async (top: string): Promise<void> => {
    const stack = [top];
    while (stack.length > 0 && !closed) {
      const dir = stack.pop() as string;
      if (watches.has(dir) || handlers.isExcluded(dir)) continue;
      let w: FSWatcher;
      try {
        w = watchDir(abs(dir), (event, filename) => onEvent(dir, event, filename));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Gone already, or not a dir any more: its parent's watch reports that.
        if (code === 'ENOENT' || code === 'ENOTDIR') continue;
        // Not descended into: the whole subtree is the owner's to poll.
        markUnwatched(dir, err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      unwatched.delete(dir);
      w.on('error', (err) => {
        w.close();
        watches.delete(dir);
        if (closed) return;
        // Its dirs below keep their own watches; this one is polled and tried again like any refused one.
        markUnwatched(dir, err);
        handlers.onError(err);
      });
      watches.set(dir, w);
      let names;
      try {
        names = await readdir(abs(dir), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const d of names) {
        if (d.isDirectory()) stack.push(dir === '' ? d.name : `${dir}/${d.name}`);
      }
    }
  };

  await addTree('');
  return {
    close() {
      closed = true;
      stopOverflowWatch();
      unwatchBelow('');
    },
    unwatched: () => unwatched,
    async retry() {
      const tops = [...unwatched.keys()];
      for (const rel of tops) {
        if (closed) break;
        // Gone, or not a dir any more, drops out; refused again comes back in.
        unwatched.delete(rel);
        const st = await lstat(abs(rel)).catch(() => undefined);
        if (st?.isDirectory() === true) await addTree(rel);
      }
      return tops;
    },
  };
}
