/**
 * Reads of our own entries by path range: a whole folder, one subtree, the
 * changes since a sequence, and one dir's children a batch at a time (what a
 * scan compares a listing with, without loading the rest of the folder). Its
 * own module because the store writes and these only read, and a scan of a
 * million files must never hold more of the index than one dir's batch.
 */
import type Database from 'better-sqlite3';
import type { ComparedEntry } from './classify.js';
import type { EntryType, LocalEntry } from './entry.js';
import { ENTRY_COLUMNS, type FolderKey, type LocalRow, type Statement, toLocal } from './store-rows.js';

/** Rows one query of a dir's children reads at most. */
export const CHILD_BATCH = 256;

/** '0' is the code point after '/': [p + '/', p + '0') is exactly the paths inside p (SQLite's BINARY collation orders UTF-8 bytes like code points). */
const afterSubtree = (p: string): string => `${p}0`;

type PageKey = FolderKey & { from: string; limit: number };

/** An entry as a scan compares it with the disk (see `comparedBelow`). */
export interface ComparedRow extends ComparedEntry {
  readonly path: string;
}

/** The columns of a ComparedRow, in the order of its raw row. */
const COMPARED_COLUMNS = 'path, type, size, mtime_ms, mode, target, deleted, inode, disk_name';
type RawCompared = [string, string, number, number, number, string, number, number, string];

function toCompared(row: RawCompared): ComparedRow {
  return { path: row[0], type: row[1] as EntryType, size: row[2], mtimeMs: row[3], mode: row[4], target: row[5], deleted: row[6] !== 0, inode: row[7], diskName: row[8] };
}

/** One range read a page at a time: from `from` up to `hi` (to the folder's end when undefined). */
type PageReader<R> = (folder: string, from: string, hi: string | undefined, limit: number) => IterableIterator<R>;

/** Range reads of the `local` table. */
export class LocalReads {
  readonly #all: Statement<FolderKey, LocalRow>;
  readonly #under: Statement<FolderKey & { dir: string; lo: string; hi: string }, LocalRow>;
  readonly #since: Statement<FolderKey & { after: number; limit: number }, LocalRow>;
  readonly #page: Statement<PageKey & { hi: string }, LocalRow>;
  readonly #pageToEnd: Statement<PageKey, LocalRow>;
  readonly #tombstones: Statement<FolderKey, LocalRow>;
  readonly #entryPages: PageReader<LocalRow>;
  readonly #comparedPages: PageReader<RawCompared>;

  constructor(db: Database.Database) {
    const columns = `${ENTRY_COLUMNS}, inode, disk_name`;
    this.#all = db.prepare(`SELECT ${columns} FROM local WHERE folder = @folder ORDER BY path`);
    // A range on the primary key, not LIKE: LIKE gives '%' and '_' in names a
    // meaning and cannot use the index. The range [dir, dir + '0') holds dir,
    // everything under dir + '/', and siblings such as 'dir-x' or 'dir.txt'
    // (their next character sorts before '/'), which the last test drops.
    this.#under = db.prepare(
      `SELECT ${columns} FROM local
       WHERE folder = @folder AND path >= @dir AND path < @hi AND (path = @dir OR path >= @lo)
       ORDER BY path`,
    );
    this.#since = db.prepare(`SELECT ${columns} FROM local WHERE folder = @folder AND sequence > @after ORDER BY sequence LIMIT @limit`);
    this.#page = db.prepare(`SELECT ${columns} FROM local WHERE folder = @folder AND path >= @from AND path < @hi ORDER BY path LIMIT @limit`);
    this.#pageToEnd = db.prepare(`SELECT ${columns} FROM local WHERE folder = @folder AND path >= @from ORDER BY path LIMIT @limit`);
    this.#tombstones = db.prepare(`SELECT ${columns} FROM local WHERE folder = @folder AND deleted = 1`);
    this.#entryPages = (folder, from, hi, limit) => (hi === undefined ? this.#pageToEnd.iterate({ folder, from, limit }) : this.#page.iterate({ folder, from, hi, limit }));
    // Arrays, not objects: a no-change rescan reads every entry of the folder, and most of each row is never looked at.
    const comparedPage = db.prepare<PageKey & { hi: string }, RawCompared>(`SELECT ${COMPARED_COLUMNS} FROM local WHERE folder = @folder AND path >= @from AND path < @hi ORDER BY path LIMIT @limit`).raw();
    const comparedToEnd = db.prepare<PageKey, RawCompared>(`SELECT ${COMPARED_COLUMNS} FROM local WHERE folder = @folder AND path >= @from ORDER BY path LIMIT @limit`).raw();
    this.#comparedPages = (folder, from, hi, limit) => (hi === undefined ? comparedToEnd.iterate({ folder, from, limit }) : comparedPage.iterate({ folder, from, hi, limit }));
  }

  /** All our entries of the folder, by path. */
  all(folder: string): LocalEntry[] {
    return this.#all.all({ folder }).map(toLocal);
  }

  /** Our entries for `dir` itself and everything below it, by path; '' means the whole folder. */
  under(folder: string, dir: string): LocalEntry[] {
    if (dir === '') return this.all(folder);
    return this.#under.all({ folder, dir, lo: `${dir}/`, hi: afterSubtree(dir) }).map(toLocal);
  }

  /** Up to `limit` of our entries with a sequence above `afterSequence`, ascending. */
  since(folder: string, afterSequence: number, limit: number): LocalEntry[] {
    return this.#since.all({ folder, after: afterSequence, limit }).map(toLocal);
  }

  /** Our tombstones (deleted entries), in no order. */
  tombstones(folder: string): LocalEntry[] {
    return this.#tombstones.all({ folder }).map(toLocal);
  }

  /**
   * Our entries strictly below `dir` ('' is the folder's root), by path, read
   * up to `batch` rows at a time. `skipBelow(child)`, asked of a child of
   * `dir` when an entry below it comes up, says whether to leave out
   * everything below that child: a scan walks a child dir on its own, so it
   * reads a dir's children and seeks past their subtrees, never reading the
   * whole subtree. `skipBelow` runs while a statement is open: it must not
   * use the index. None stays open between the entries given: the caller may
   * write to the index meanwhile.
   */
  *below(folder: string, dir: string, skipBelow: (child: string) => boolean, batch = CHILD_BATCH): Generator<LocalEntry> {
    for (const row of pagesBelow(this.#entryPages, (r) => r.path, folder, dir, skipBelow, batch)) yield toLocal(row);
  }

  /**
   * `below` with only what a scan compares with the disk (see `classify`):
   * no version, no hash, an array per row until the one object given. A
   * path that differs is read again whole (stepChanges does so in the same
   * synchronous step, so both reads see the same index).
   */
  *comparedBelow(folder: string, dir: string, skipBelow: (child: string) => boolean, batch = CHILD_BATCH): Generator<ComparedRow> {
    for (const row of pagesBelow(this.#comparedPages, (r) => r[0], folder, dir, skipBelow, batch)) yield toCompared(row);
  }
}

/** The rows strictly below `dir`, a page of up to `batch` at a time, seeking past the subtrees of the children `skipBelow` names (see LocalReads.below). */
function* pagesBelow<R>(pages: PageReader<R>, pathOf: (row: R) => string, folder: string, dir: string, skipBelow: (child: string) => boolean, batch: number): Generator<R> {
  const lo = dir === '' ? '' : `${dir}/`;
  const hi = dir === '' ? undefined : afterSubtree(dir);
  for (let from: string | undefined = lo; from !== undefined; ) {
    const page: R[] = [];
    // Where the next page starts; undefined once the range is read to its end.
    let next: string | undefined;
    for (const row of pages(folder, from, hi, batch)) {
      const path = pathOf(row);
      const slash = path.indexOf('/', lo.length);
      const child = slash < 0 ? undefined : path.slice(0, slash);
      if (child !== undefined && skipBelow(child)) {
        // Stop reading here (the loop's exit resets the statement) and seek past the subtree.
        next = afterSubtree(child);
        break;
      }
      page.push(row);
      if (page.length === batch) {
        next = `${path}\u0000`;
        break;
      }
    }
    yield* page;
    from = next;
  }
}
