/**
 * The index's SQLite file: opened with the settings the store relies on and
 * migrated to the current schema, or, when SQLite finds it damaged, moved
 * aside for a fresh one. The file's life apart from what is kept in it.
 */
import { renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { WizardError, describeError } from '../core/errors.js';
import { isDamaged } from './index-failures.js';
import { migrate } from './schema.js';

/** Opens (creating and migrating as needed) the index database at `file`; ':memory:' gives a throwaway one. */
export function openIndexDatabase(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    // NORMAL under WAL: a power cut may lose the last commits but never
    // corrupts the file; a rescan finds whatever those commits recorded.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = OFF');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof WizardError) throw err;
    throw new WizardError('INTERNAL', `opening the index ${file}: ${describeError(err)}`, { cause: err });
  }
}

/**
 * Opens the index database; one that SQLite finds damaged (not a database,
 * corrupt pages, a torn header) is moved aside with its WAL and a fresh one
 * is created. Nothing is lost by that: the index only caches what a rescan
 * finds on disk and what peers resend, and with no history every local file
 * is new, so a difference with a peer becomes a conflict copy or a pull,
 * never a deletion. `onRebuilt` hears where the damaged file went.
 */
export function openOrRebuildIndexDatabase(file: string, onRebuilt: (movedTo: string, err: unknown) => void): Database.Database {
  try {
    return openIndexDatabase(file);
  } catch (err) {
    if (!isDamaged(err)) throw err;
    const movedTo = `${file}.damaged-${Date.now()}`;
    renameSync(file, movedTo);
    // The WAL and shared-memory files belong to the damaged database; replayed into a new one they would corrupt it.
    for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    onRebuilt(movedTo, err);
    return openIndexDatabase(file);
  }
}
