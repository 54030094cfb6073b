/**
 * Paths whose recorded content hash still has the meaning it had before
 * identity v2 (one SHA-256 of the whole file; schema step 5 lists every live
 * file of an older index here). Such a hash must not reach a peer, which
 * would read it in the new meaning: the folder rehashes these files at start
 * (sync/scan/rehash.ts) and withholds them from peers until then.
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';

/** The `stale_hashes` table. */
export class StaleHashes {
  readonly #has: Statement<{ folder: string; path: string }, { one: number }>;
  readonly #some: Statement<{ folder: string; limit: number }, { path: string }>;
  readonly #count: Statement<{ folder: string }, { n: number }>;
  readonly #delete: Statement<{ folder: string; path: string }>;
  readonly #clear: Statement<{ folder: string }>;

  constructor(db: Database.Database) {
    this.#has = db.prepare('SELECT 1 AS one FROM stale_hashes WHERE folder = @folder AND path = @path');
    this.#some = db.prepare('SELECT path FROM stale_hashes WHERE folder = @folder ORDER BY path LIMIT @limit');
    this.#count = db.prepare('SELECT count(*) AS n FROM stale_hashes WHERE folder = @folder');
    this.#delete = db.prepare('DELETE FROM stale_hashes WHERE folder = @folder AND path = @path');
    this.#clear = db.prepare('DELETE FROM stale_hashes WHERE folder = @folder');
  }

  /** Whether `path`'s recorded hash has the old meaning. */
  has(folder: string, path: string): boolean {
    return this.#has.get({ folder, path }) !== undefined;
  }

  /** Up to `limit` stale paths of `folder`, in path order. */
  some(folder: string, limit: number): string[] {
    return this.#some.all({ folder, limit }).map((r) => r.path);
  }

  /** How many paths of `folder` are stale. */
  count(folder: string): number {
    return this.#count.get({ folder })?.n ?? 0;
  }

  /** `path`'s hash has the new meaning now (or it is no longer a file of ours). */
  delete(folder: string, path: string): void {
    this.#delete.run({ folder, path });
  }

  /** Forgets every stale path of `folder`. */
  clear(folder: string): void {
    this.#clear.run({ folder });
  }
}
