/**
 * The index database's schema: its version and the migrations that create it
 * and bring an older file up to date. store.ts opens the file and calls
 * `migrate` before preparing any statement.
 */
import type Database from 'better-sqlite3';

import { WizardError } from '../core/errors.js';

/** The schema version this code reads and writes (SQLite `user_version`). */
export const SCHEMA_VERSION = 6;

/**
 * Schema steps: `MIGRATIONS[n]` takes a database at version n to n + 1.
 * Append a step for every schema change; never edit a shipped one.
 */
const MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  (db) => {
    // WITHOUT ROWID: every lookup goes by the natural key, so clustering the
    // rows on it saves the second b-tree a rowid table would need.
    db.exec(`
      CREATE TABLE folders (
        folder       TEXT PRIMARY KEY,
        index_id     TEXT NOT NULL,
        max_sequence INTEGER NOT NULL,
        digest       TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE local (
        folder   TEXT NOT NULL,
        path     TEXT NOT NULL,
        type     TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink')),
        size     INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        mode     INTEGER NOT NULL,
        hash     TEXT NOT NULL,
        target   TEXT NOT NULL,
        version  TEXT NOT NULL,
        deleted  INTEGER NOT NULL CHECK (deleted IN (0, 1)),
        sequence INTEGER NOT NULL,
        inode    INTEGER NOT NULL,
        PRIMARY KEY (folder, path)
      ) WITHOUT ROWID;
      CREATE INDEX local_by_sequence ON local (folder, sequence);

      CREATE TABLE remote (
        folder   TEXT NOT NULL,
        peer     TEXT NOT NULL,
        path     TEXT NOT NULL,
        type     TEXT NOT NULL CHECK (type IN ('file', 'dir', 'symlink')),
        size     INTEGER NOT NULL,
        mtime_ms REAL NOT NULL,
        mode     INTEGER NOT NULL,
        hash     TEXT NOT NULL,
        target   TEXT NOT NULL,
        version  TEXT NOT NULL,
        deleted  INTEGER NOT NULL CHECK (deleted IN (0, 1)),
        sequence INTEGER NOT NULL,
        PRIMARY KEY (folder, peer, path)
      ) WITHOUT ROWID;
      -- remotesFor asks every peer about one path.
      CREATE INDEX remote_by_path ON remote (folder, path);

      CREATE TABLE peer_state (
        folder   TEXT NOT NULL,
        peer     TEXT NOT NULL,
        index_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        PRIMARY KEY (folder, peer)
      ) WITHOUT ROWID;
    `);
  },
  (db) => {
    // Block sums of our own files, for answering peers' delta requests without
    // re-reading an unchanged file. `hash` is the content they describe: a row
    // whose hash differs from the file's entry is stale and never served.
    // Files indexed before this step have no row; theirs are computed on demand.
    db.exec(`
      CREATE TABLE block_sums (
        folder     TEXT NOT NULL,
        path       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        block_size INTEGER NOT NULL,
        file_size  INTEGER NOT NULL,
        weak       BLOB NOT NULL,
        strong     BLOB NOT NULL,
        PRIMARY KEY (folder, path)
      ) WITHOUT ROWID;
    `);
  },
  (db) => {
    // A file a peer renamed or copied is usually already here under another name: find it by content.
    db.exec(`CREATE INDEX local_by_hash ON local (folder, hash) WHERE deleted = 0 AND type = 'file';`);
  },
  (db) => {
    // A name that is not NFC on disk (see disk-names.ts): its spelling there, '' for all the others.
    // Older indexes hold no such names (scans skipped them), so '' is right for every row they have.
    // The partial index finds the few non-empty ones when a folder starts.
    db.exec(`
      ALTER TABLE local ADD COLUMN disk_name TEXT NOT NULL DEFAULT '';
      CREATE INDEX local_disk_names ON local (folder, path) WHERE disk_name <> '';
    `);
  },
  (db) => {
    // Identity v2 (wire protocol 6): content hashes now mean core/content-hash.ts, not one SHA-256.
    // Our files' hashes are listed to be rehashed at folder start (stale-hashes.ts, sync/scan/rehash.ts);
    // their block sums are keyed by the old hash, so they go and come back with the rehash, now with
    // the file's leaf digests beside them (a patch in place checks its result from those).
    // What peers told us is in the old meaning: forgotten, with how far we had read, so they resend it all.
    db.exec(`
      CREATE TABLE stale_hashes (
        folder TEXT NOT NULL,
        path   TEXT NOT NULL,
        PRIMARY KEY (folder, path)
      ) WITHOUT ROWID;
      INSERT INTO stale_hashes (folder, path) SELECT folder, path FROM local WHERE type = 'file' AND deleted = 0;
      DELETE FROM block_sums;
      ALTER TABLE block_sums ADD COLUMN leaves BLOB;
      DELETE FROM remote;
      DELETE FROM peer_state;
    `);
  },
  (db) => {
    // local_by_hash keyed on the hash's first 8 hex digits instead of all 64. Its keys are random, so a scan
    // dirties a page of it per file, and every commit writes those pages to the WAL: entries of half the size
    // dirty half the pages (bench/probes/index-insert.mjs: 100,000 files in commits of 1,000, 36 against 14 us
    // a file). 32 bits tell 1,000,000 files apart but for a few; a lookup checks the whole hash.
    db.exec(`
      DROP INDEX local_by_hash;
      CREATE INDEX local_by_hash_prefix ON local (folder, substr(hash, 1, 8)) WHERE deleted = 0 AND type = 'file';
    `);
  },
];

/** Brings `db` to `SCHEMA_VERSION`, one step per transaction. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new WizardError(
      'INTERNAL',
      `the index was written by a newer Wizard (schema ${current}, this one knows ${SCHEMA_VERSION}); upgrade Wizard`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    const step = MIGRATIONS[version];
    if (step === undefined) throw new WizardError('INTERNAL', `no migration from index schema ${version}`);
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
