/**
 * What the watcher's changed paths ask the scan to look at: `pathsToScan` is
 * pure (the watcher reports paths as spelled on disk, and the folder says
 * which of them are the echo of its own pulls); `watchFolder` wires a
 * folder's watcher to its scans.
 */
import type { Logger } from 'pino';
import { parentOf } from '../../core/paths.js';
import { toNfc } from '../../index/disk-names.js';
import { isAlwaysIgnored } from '../../ignore/matcher.js';
import { observeFileNow } from '../../index/scanner.js';
import { FolderWatcher, type FolderWatcherDeps } from '../../index/watcher.js';
import type { LandedPaths } from '../pull/landed-paths.js';

/**
 * The paths to scan for the watcher's `paths`, each once: not our own files
 * (`.wizard/`, temp files, which come and go with every download), not the
 * echo of a pull (`isEcho`), and a path spelled otherwise than the index
 * has it (`onDisk`: a new name from a Mac, a second spelling of a known
 * one) or not UTF-8 as its dir, whose listing shows two spellings of one
 * name as a clash.
 */
export function pathsToScan(paths: Iterable<string>, isEcho: (rel: string) => boolean, onDisk: (rel: string) => string): string[] {
  const wanted = new Set<string>();
  for (const raw of paths) {
    // The index knows paths by their NFC form.
    const rel = toNfc(raw);
    if (isAlwaysIgnored(rel) || isEcho(rel)) continue;
    wanted.add(raw === onDisk(rel) && !raw.includes('\uFFFD') ? rel : parentOf(rel));
  }
  return [...wanted];
}

/** What a folder's watcher is given. */
export interface WatchFolderDeps extends Pick<FolderWatcherDeps, 'root' | 'clock' | 'monotonicMs' | 'debounceMs' | 'watchDir'> {
  readonly log: Logger;
  /** What the pulls landed, to tell their echo from a user's change. */
  readonly landed: LandedPaths;
  readonly onDisk: (rel: string) => string;
  /** Queues a scan (see `Folder.queueScan`). */
  readonly queueScan: (paths: string[], mayDelete?: boolean) => void;
}

/** The folder's watcher: its changes queue scans (without the echo of pulls), its errors a whole rescan. */
export function watchFolder(deps: WatchFolderDeps): FolderWatcher {
  const { root, landed, onDisk, log } = deps;
  return new FolderWatcher({
    root,
    clock: deps.clock,
    monotonicMs: deps.monotonicMs,
    debounceMs: deps.debounceMs,
    onChanges: (paths, settled) => {
      // The echo of a pull is left out early, and once settled if the disk still holds what landed.
      const isEcho = settled ? (p: string) => landed.isUnchangedEcho(p, (rel) => observeFileNow(root, rel, onDisk(rel))) : (p: string) => landed.isOwnEcho(p);
      const wanted = pathsToScan(paths, isEcho, onDisk);
      if (wanted.length > 0) deps.queueScan(wanted, settled);
    },
    onError: (err) => {
      log.warn({ err }, 'watcher error; rescanning the whole folder');
      deps.queueScan(['']);
    },
    // Logged when it starts and when it ends, not once per dir: the limit can refuse thousands.
    onWatchProblem: (problem) => {
      if (problem === undefined) log.info('every dir of the folder is watched again; polling stopped');
      else log.warn(problem);
    },
    ...(deps.watchDir === undefined ? {} : { watchDir: deps.watchDir }),
  });
}
