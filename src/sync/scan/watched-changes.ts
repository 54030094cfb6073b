/**
 * What the watcher's changed paths ask the scan to look at. Pure: the
 * watcher reports paths as spelled on disk, and the folder says which of
 * them are the echo of its own pulls.
 */
import { parentOf } from '../../core/paths.js';
import { toNfc } from '../../index/disk-names.js';
import { isAlwaysIgnored } from '../../ignore/matcher.js';

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
