/**
 * Stat identity of files on disk: what tells us a file may have changed.
 * The hashing itself runs in worker threads (src/workers/jobs.ts).
 */

/** The identity of a file's bytes for change detection: if any of these moved, the content may have. */
export interface StatKey {
  readonly size: number;
  readonly mtimeMs: number;
  readonly inode: number;
}

/** StatKey of an lstat result. */
export function statKey(st: { size: number | bigint; mtimeMs: number | bigint; ino: number | bigint }): StatKey {
  return { size: Number(st.size), mtimeMs: Number(st.mtimeMs), inode: Number(st.ino) };
}

/** True when both describe the same bytes as far as stat can tell. */
export function sameStat(a: StatKey, b: StatKey): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.inode === b.inode;
}
