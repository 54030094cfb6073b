/**
 * The index entry for content the puller has just put in place: the peer's
 * hash, target and version, with what the disk really has (size, mtime,
 * mode, inode), so the next scan sees no change.
 */
import { lstatSync, type Stats } from 'node:fs';
import type { FileEntry, LocalEntry } from '../../index/entry.js';
import type { VersionVector } from '../../versions/vector.js';

/** The local entry for content just put at `entry.path` (at `abs` on disk). */
export function recorded(abs: string, entry: FileEntry, version: VersionVector): Omit<LocalEntry, 'sequence'> {
  return recordedAs(entry, version, lstatSync(abs));
}

/** The local entry for content put at `entry.path` whose stat (lstat, or fstat of the renamed file) is `st`. */
export function recordedAs(entry: FileEntry, version: VersionVector, st: Stats): Omit<LocalEntry, 'sequence'> {
  return {
    path: entry.path,
    type: entry.type,
    size: entry.type === 'file' ? st.size : 0,
    mtimeMs: st.mtimeMs,
    // What the disk really has: recording the peer's bits instead would look like a local mode change at the next scan.
    mode: st.mode & 0o7777,
    hash: entry.hash,
    target: entry.target,
    version,
    deleted: false,
    inode: st.ino,
  };
}
