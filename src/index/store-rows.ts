/**
 * How index entries sit in SQLite: the rows of the \`local\` and \`remote\`
 * tables, the bind parameters written to them (versions as canonical
 * strings, so SQL can compare them), and the conversions both ways. Shared
 * by the store's own entries and the peers' (remote-entries.ts).
 */
import type Database from 'better-sqlite3';
import { canonical, parseCanonical } from '../versions/vector.js';
import type { EntryType, FileEntry, LocalEntry } from './entry.js';

/** A row of `local` or `remote`, as SQLite returns it. */
export interface EntryRow {
  path: string;
  type: string;
  size: number;
  mtime_ms: number;
  mode: number;
  hash: string;
  target: string;
  version: string;
  deleted: number;
  sequence: number;
}

/** A row of `local`: an entry with where it is on disk. */
export interface LocalRow extends EntryRow {
  inode: number;
  disk_name: string;
}

/** A row of `folders`. */
export interface FolderRow {
  index_id: string;
  max_sequence: number;
  digest: string;
}

/** Bind parameters of an entry: versions as canonical strings so SQL can compare them, booleans as 0/1. */
export interface EntryParams {
  path: string;
  type: string;
  size: number;
  mtimeMs: number;
  mode: number;
  hash: string;
  target: string;
  version: string;
  deleted: number;
  sequence: number;
}

/** An entry from its row. */
export function toEntry(row: EntryRow): FileEntry {
  return {
    path: row.path,
    type: row.type as EntryType,
    size: row.size,
    mtimeMs: row.mtime_ms,
    mode: row.mode,
    hash: row.hash,
    target: row.target,
    version: parseCanonical(row.version),
    deleted: row.deleted !== 0,
    sequence: row.sequence,
  };
}

/** One of our entries from its row. */
export function toLocal(row: LocalRow): LocalEntry {
  const entry = { ...toEntry(row), inode: row.inode };
  return row.disk_name === '' ? entry : { ...entry, diskName: row.disk_name };
}

/** The bind parameters of an entry. */
export function toParams(e: FileEntry): EntryParams {
  return {
    path: e.path,
    type: e.type,
    size: e.size,
    mtimeMs: e.mtimeMs,
    mode: e.mode,
    hash: e.hash,
    target: e.target,
    version: canonical(e.version),
    deleted: e.deleted ? 1 : 0,
    sequence: e.sequence,
  };
}

/** The entry columns both tables have, in bind order. */
export const ENTRY_COLUMNS = 'path, type, size, mtime_ms, mode, hash, target, version, deleted, sequence';
/** ENTRY_COLUMNS of the remote table aliased `r`. */
export const REMOTE_ENTRY_COLUMNS = ENTRY_COLUMNS.split(', ')
  .map((column) => `r.${column}`)
  .join(', ');
/** The bind parameters of ENTRY_COLUMNS. */
export const ENTRY_VALUES = '@path, @type, @size, @mtimeMs, @mode, @hash, @target, @version, @deleted, @sequence';

/** Paths that differ between our index and a peer's; see `countOutOfSync`. */
export const OUT_OF_SYNC_SQL = `
  SELECT l.path FROM local l
    LEFT JOIN remote r ON r.folder = l.folder AND r.peer = @peer AND r.path = l.path
    WHERE l.folder = @folder
      AND ((r.path IS NULL AND l.deleted = 0) OR (r.path IS NOT NULL AND r.version <> l.version))
  UNION ALL
  SELECT r.path FROM remote r
    LEFT JOIN local l ON l.folder = r.folder AND l.path = r.path
    WHERE r.folder = @folder AND r.peer = @peer AND l.path IS NULL AND r.deleted = 0`;

/** Statement keys. */
export type FolderKey = { folder: string };
export type PathKey = { folder: string; path: string };
export type PeerKey = { folder: string; peer: string };
/** A prepared statement with its bind and row types. */
export type Statement<P extends object, R = unknown> = Database.Statement<P, R>;
