import type { VersionVector } from '../versions/vector.js';

/** What a path is. Symlinks are synced as links and never followed. */
export type EntryType = 'file' | 'dir' | 'symlink';

/**
 * One path of a folder, as an index knows it (ours or a peer's).
 *
 * `sequence` is the owning node's change counter for this folder: every change
 * it records gets the next number, so a peer can ask for "everything after N".
 */
export interface FileEntry {
  /** Relative POSIX path, NFC, validated by `toRelPath`. */
  readonly path: string;
  readonly type: EntryType;
  /** Bytes (files); 0 for dirs, symlinks and tombstones. */
  readonly size: number;
  readonly mtimeMs: number;
  /** Permission bits (0o777 mask). */
  readonly mode: number;
  /** Lowercase hex SHA-256 of the content (files); '' otherwise. */
  readonly hash: string;
  /** Link target (symlinks); '' otherwise. */
  readonly target: string;
  readonly version: VersionVector;
  /** A tombstone: the path was deleted at this version. */
  readonly deleted: boolean;
  readonly sequence: number;
}

/** A local entry also remembers the inode it was last seen with, and its name on disk (neither is sent). */
export interface LocalEntry extends FileEntry {
  readonly inode: number;
  /**
   * The last component of the path as spelled on disk, when that is not its
   * NFC form (a name written by a Mac). As the index returns an entry: set
   * only then. In a change to record: '' for the NFC name, and undefined
   * keeps what the index has for a live path (a pull writes over the file
   * under the name it already has).
   */
  readonly diskName?: string;
}

/** Two entries describe the same content (type, bytes, link target, existence). */
export function sameContent(a: FileEntry, b: FileEntry): boolean {
  if (a.deleted || b.deleted) return a.deleted === b.deleted;
  return a.type === b.type && a.hash === b.hash && a.target === b.target && (a.type !== 'file' || a.size === b.size);
}
