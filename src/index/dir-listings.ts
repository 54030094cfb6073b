/**
 * A walk's dir listings, read ahead: while the scan compares one dir with the
 * index and stats its children, the dirs it will list next are already being
 * read through libuv's pool. Without it the main thread waited for every
 * readdir in turn: in a no-change rescan of 100,000 files in 1,000 dirs that
 * was about a third of the wall time (docs/BENCHMARKS.md, "The no-change
 * rescan, per file").
 */
import type { Dirent } from 'node:fs';

/**
 * How many of the dirs next in line have their listing read ahead, and the
 * most listings read and not yet taken: a read that falls out of the next in
 * line (the walk went down into a sibling's subtree) is dropped and read
 * again when its dir's turn comes, so no listing is held across a subtree,
 * older than the two steps before its own.
 */
export const LISTINGS_AHEAD = 2;

/** A listing, or the error reading it met (kept, not thrown, so a listing read ahead and never taken rejects nothing). */
export type Listing = { readonly names: Dirent[] } | { readonly failed: unknown };

/** A listing being read, with what `mark` answered just before its read began. */
export interface ListingRead {
  readonly listing: Promise<Listing>;
  readonly mark: number | undefined;
}

export class DirListings<Dir extends object> {
  private readonly pending = new Map<Dir, ListingRead>();

  /**
   * `read` lists a dir (absolute path) with file types; `absOf` is where a dir of the walk is;
   * `mark`, when given, is asked just before each read begins (see WalkOptions.mark).
   */
  constructor(
    private readonly read: (abs: string) => Promise<Dirent[]>,
    private readonly absOf: (dir: Dir) => string,
    private readonly mark?: () => number,
  ) {}

  /** The listing of `dir`, read now unless it was read ahead. */
  take(dir: Dir): ListingRead {
    const read = this.pending.get(dir) ?? this.start(dir);
    this.pending.delete(dir);
    return read;
  }

  /**
   * Starts reading the listings of the dirs next in line, the top of the walk's stack (its last
   * items), and drops the reads of any other (a dropped read settles unheard: it cannot reject).
   */
  ahead(stack: readonly Dir[]): void {
    const next = stack.slice(Math.max(0, stack.length - LISTINGS_AHEAD));
    for (const dir of this.pending.keys()) if (!next.includes(dir)) this.pending.delete(dir);
    for (const dir of next.reverse()) if (!this.pending.has(dir)) this.pending.set(dir, this.start(dir));
  }

  private start(dir: Dir): ListingRead {
    const mark = this.mark?.();
    let read: Promise<Dirent[]>;
    try {
      read = this.read(this.absOf(dir));
    } catch (err) {
      return { listing: Promise.resolve({ failed: err }), mark };
    }
    const listing = read.then(
      (names) => ({ names }),
      (failed: unknown) => ({ failed }),
    );
    return { listing, mark };
  }
}
