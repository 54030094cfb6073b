/**
 * A recursive watch built from one inotify watch per directory (fs.watch),
 * for Linux. @parcel/watcher's inotify backend watches a new directory when
 * it sees it created, but not the directories already inside it by then: a
 * `mkdir -p a/b/c` (a git clone, an unzip, a build) leaves `a/b` and `a/b/c`
 * unwatched, and later saves there go unseen until the periodic rescan.
 * Here a new directory is watched first and read second, so nothing created
 * inside it can fall between the two.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/** A running tree watch. */
export interface TreeWatch {
  close(): void;
}

/** What the tree watch reports to. */
export interface TreeWatchHandlers {
  /** Relative paths that changed ('' is the root). */
  readonly onPaths: (rels: string[]) => void;
  /** A watch could not be set (for example ENOSPC: the inotify watch limit). */
  readonly onError: (err: Error) => void;
  /** Relative paths not to watch below (Wizard's own dir). */
  readonly isExcluded: (rel: string) => boolean;
}

/** Watches `root` and every directory below it. */
export async function watchTree(root: string, handlers: TreeWatchHandlers): Promise<TreeWatch> {
  const watches = new Map<string, FSWatcher>();
  let closed = false;

  const abs = (rel: string) => (rel === '' ? root : path.join(root, ...rel.split('/')));

  const unwatchBelow = (rel: string) => {
    for (const [dir, w] of watches) {
      if (dir === rel || (rel === '' ? true : dir.startsWith(`${rel}/`))) {
        w.close();
        watches.delete(dir);
      }
    }
  };

  const onEvent = (dir: string, filename: string | Buffer | null) => {
    if (closed) return;
    if (filename === null) {
      handlers.onPaths([dir]);
      return;
    }
    const rel = dir === '' ? String(filename) : `${dir}/${String(filename)}`;
    if (handlers.isExcluded(rel)) return;
    handlers.onPaths([rel]);
    // A name appeared or went: a new dir needs watching, a gone one releases its watches.
    void lstat(abs(rel)).then(
      (st) => {
        if (st.isDirectory() && !watches.has(rel)) return addTree(rel).then(() => handlers.onPaths([rel]));
        return undefined;
      },
      () => unwatchBelow(rel),
    ).catch((err: unknown) => handlers.onError(err instanceof Error ? err : new Error(String(err))));
  };

  /** Watches `rel`, then reads it and does the same for every dir inside. */
  const addTree = async (top: string): Promise<void> => {
    const stack = [top];
    while (stack.length > 0 && !closed) {
      const dir = stack.pop() as string;
      if (watches.has(dir) || handlers.isExcluded(dir)) continue;
      let w: FSWatcher;
      try {
        w = watch(abs(dir), { persistent: false }, (_event, filename) => onEvent(dir, filename));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Gone already, or not a dir any more: its parent's watch reports that.
        if (code === 'ENOENT' || code === 'ENOTDIR') continue;
        handlers.onError(err as Error);
        continue;
      }
      w.on('error', (err) => {
        w.close();
        watches.delete(dir);
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
      unwatchBelow('');
    },
  };
}
