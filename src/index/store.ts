/**
 * The persistent index: our own entries per folder, the last index each peer
 * sent us, and how far each peer's index has been read. One SQLite file per
 * home, written only in transactions, so a kill -9 leaves either the state
 * before a batch or the state after it.
 */
import { CONFLICT_MARKER } from '../sync/conflicts/conflict.js';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';

import Database from 'better-sqlite3';

import { crashPoint } from '../core/crash-point.js';
import { WizardError, codeInChain, describeError } from '../core/errors.js';
import { canonical, parseCanonical } from '../versions/vector.js';
import { EMPTY_DIGEST_HEX, entryDigest, xorInto } from './digest.js';
import type { EntryType, FileEntry, LocalEntry } from './entry.js';
import { migrate } from './schema.js';
import { BlockSumStore } from './sums.js';

/** A folder's own index, as announced in `Hello`. */
export interface FolderState {
  /** Random ID of this incarnation of the index; a new one tells peers to forget what they read. */
  readonly indexId: string;
  /** The sequence of the latest local change. */
  readonly maxSequence: number;
  /** XOR of the entry digests (hex), see `digest.ts`. */
  readonly digest: string;
}

/** How far we have read a peer's index of one folder. */
export interface PeerState {
  /** The peer's index ID; '' when we know nothing of it. */
  readonly indexId: string;
  /** The highest sequence of the peer's we have stored. */
  readonly sequence: number;
}

/** Counts over a folder's local entries. */
export interface LocalStats {
  /** Live regular files and symlinks. */
  readonly files: number;
  /** Live directories. */
  readonly dirs: number;
  /** Bytes of the live entries. */
  readonly bytes: number;
  /** Entries that record a deletion. */
  readonly tombstones: number;
  /** Live conflict copies (files whose name holds the conflict marker, see conflict.ts). */
  readonly conflicts: number;
}

/** A local change to record; the store assigns its sequence. */
export type LocalChange = Omit<LocalEntry, 'sequence'>;

interface EntryRow {
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

interface LocalRow extends EntryRow {
  inode: number;
  disk_name: string;
}

interface FolderRow {
  index_id: string;
  max_sequence: number;
  digest: string;
}

/** Bind parameters of an entry: versions as canonical strings so SQL can compare them, booleans as 0/1. */
interface EntryParams {
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

function toEntry(row: EntryRow): FileEntry {
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

function toLocal(row: LocalRow): LocalEntry {
  const entry = { ...toEntry(row), inode: row.inode };
  return row.disk_name === '' ? entry : { ...entry, diskName: row.disk_name };
}

function toParams(e: FileEntry): EntryParams {
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

const ENTRY_COLUMNS = 'path, type, size, mtime_ms, mode, hash, target, version, deleted, sequence';
const REMOTE_ENTRY_COLUMNS = ENTRY_COLUMNS.split(', ')
  .map((column) => `r.${column}`)
  .join(', ');
const ENTRY_VALUES = '@path, @type, @size, @mtimeMs, @mode, @hash, @target, @version, @deleted, @sequence';

/** Paths that differ between our index and a peer's; see `countOutOfSync`. */
const OUT_OF_SYNC_SQL = `
  SELECT l.path FROM local l
    LEFT JOIN remote r ON r.folder = l.folder AND r.peer = @peer AND r.path = l.path
    WHERE l.folder = @folder
      AND ((r.path IS NULL AND l.deleted = 0) OR (r.path IS NOT NULL AND r.version <> l.version))
  UNION ALL
  SELECT r.path FROM remote r
    LEFT JOIN local l ON l.folder = r.folder AND l.path = r.path
    WHERE r.folder = @folder AND r.peer = @peer AND l.path IS NULL AND r.deleted = 0`;

type FolderKey = { folder: string };
type PathKey = { folder: string; path: string };
type PeerKey = { folder: string; peer: string };
type Statement<P extends object, R = unknown> = Database.Statement<P, R>;

/**
 * The index database (`index.db`). All methods are synchronous and each
 * mutation is one transaction. One process owns the file; SQLite's busy
 * timeout only covers a second reader such as a status command.
 */
export class IndexStore {
  readonly #db: Database.Database;
  readonly #insertFolder: Statement<FolderKey & { indexId: string }>;
  readonly #getFolder: Statement<FolderKey, FolderRow>;
  readonly #setFolder: Statement<FolderKey & { indexId: string; maxSequence: number; digest: string }>;
  readonly #updateFolder: Statement<FolderKey & { maxSequence: number; digest: string }>;
  readonly #localWithHash: Statement<FolderKey & { hash: string }, LocalRow>;
  readonly #getLocal: Statement<PathKey, LocalRow>;
  readonly #localVersion: Statement<PathKey, string>;
  readonly #allLocal: Statement<FolderKey, LocalRow>;
  readonly #localUnder: Statement<FolderKey & { dir: string; lo: string; hi: string }, LocalRow>;
  readonly #localSince: Statement<FolderKey & { after: number; limit: number }, LocalRow>;
  readonly #putLocal: Statement<EntryParams & FolderKey & { inode: number; diskName: string }>;
  readonly #diskNames: Statement<FolderKey, { path: string; disk_name: string }>;
  readonly #deleteLocal: Statement<PathKey>;
  readonly #deleteAllLocal: Statement<FolderKey>;
  readonly #localStats: Statement<FolderKey, LocalStats>;
  /**
   * localStats per folder, counted once and then kept up to date by every
   * write: status and each scan ask for them, and a full count costs a pass
   * over the folder's entries. Dropped when a write fails, so it is recounted.
   */
  readonly #stats = new Map<string, MutableStats>();
  readonly #getRemote: Statement<PeerKey & { path: string }, EntryRow>;
  readonly #remotesFor: Statement<PathKey, EntryRow & { peer: string }>;
  readonly #putRemote: Statement<EntryParams & PeerKey>;
  readonly #deletePeerRemote: Statement<PeerKey>;
  readonly #deleteFolderRemote: Statement<FolderKey>;
  readonly #copyLocalToRemote: Statement<PeerKey>;
  readonly #remoteDiffering: Statement<PeerKey, EntryRow>;
  readonly #getPeer: Statement<PeerKey, { index_id: string; sequence: number }>;
  readonly #setPeer: Statement<PeerKey & { indexId: string; sequence: number }>;
  readonly #deletePeer: Statement<PeerKey>;
  readonly #deleteFolderPeers: Statement<FolderKey>;
  readonly #countOutOfSync: Statement<PeerKey, number>;
  readonly #listOutOfSync: Statement<PeerKey, string>;

  readonly #commitLocalTx: (folder: string, changes: readonly LocalChange[]) => LocalEntry[];
  readonly #forgetLocalTx: (folder: string, paths: readonly string[]) => void;
  readonly #resetFolderTx: (folder: string) => void;
  readonly #applyRemoteTx: (folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo: number | undefined) => string[];
  readonly #adoptTx: (folder: string, peer: string, indexId: string, sequence: number) => void;
  readonly #forgetPeerTx: (folder: string, peer: string) => void;
  readonly #atomicallyTx: (fn: () => unknown) => unknown;

  /** Block sums of our own files. */
  readonly sums: BlockSumStore;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.sums = new BlockSumStore(db);
    this.#insertFolder = db.prepare(
      `INSERT OR IGNORE INTO folders (folder, index_id, max_sequence, digest)
       VALUES (@folder, @indexId, 0, '${EMPTY_DIGEST_HEX}')`,
    );
    this.#getFolder = db.prepare('SELECT index_id, max_sequence, digest FROM folders WHERE folder = @folder');
    this.#setFolder = db.prepare(
      `INSERT OR REPLACE INTO folders (folder, index_id, max_sequence, digest)
       VALUES (@folder, @indexId, @maxSequence, @digest)`,
    );
    this.#updateFolder = db.prepare(
      'UPDATE folders SET max_sequence = @maxSequence, digest = @digest WHERE folder = @folder',
    );

    this.#getLocal = db.prepare(`SELECT ${ENTRY_COLUMNS}, inode, disk_name FROM local WHERE folder = @folder AND path = @path`);
    this.#localVersion = db.prepare<PathKey, string>('SELECT version FROM local WHERE folder = @folder AND path = @path').pluck();
    this.#localWithHash = db.prepare(
      // INDEXED BY: without statistics SQLite prefers the primary key's folder prefix, a scan of the whole folder.
      `SELECT ${ENTRY_COLUMNS}, inode, disk_name FROM local INDEXED BY local_by_hash
       WHERE folder = @folder AND hash = @hash AND deleted = 0 AND type = 'file' LIMIT 1`,
    );
    this.#allLocal = db.prepare(`SELECT ${ENTRY_COLUMNS}, inode, disk_name FROM local WHERE folder = @folder ORDER BY path`);
    // A range on the primary key, not LIKE: LIKE gives '%' and '_' in names a
    // meaning and cannot use the index. The range [dir, dir + '0') holds dir,
    // everything under dir + '/', and siblings such as 'dir-x' or 'dir.txt'
    // (their next character sorts before '/'), which the last test drops.
    this.#localUnder = db.prepare(
      `SELECT ${ENTRY_COLUMNS}, inode, disk_name FROM local
       WHERE folder = @folder AND path >= @dir AND path < @hi AND (path = @dir OR path >= @lo)
       ORDER BY path`,
    );
    this.#localSince = db.prepare(
      `SELECT ${ENTRY_COLUMNS}, inode, disk_name FROM local
       WHERE folder = @folder AND sequence > @after ORDER BY sequence LIMIT @limit`,
    );
    this.#putLocal = db.prepare(
      `INSERT OR REPLACE INTO local (folder, ${ENTRY_COLUMNS}, inode, disk_name) VALUES (@folder, ${ENTRY_VALUES}, @inode, @diskName)`,
    );
    this.#diskNames = db.prepare(`SELECT path, disk_name FROM local INDEXED BY local_disk_names WHERE folder = @folder AND disk_name <> ''`);
    this.#deleteLocal = db.prepare('DELETE FROM local WHERE folder = @folder AND path = @path');
    this.#deleteAllLocal = db.prepare('DELETE FROM local WHERE folder = @folder');
    this.#localStats = db.prepare(
      `SELECT
         COALESCE(SUM(deleted = 0 AND type <> 'dir'), 0) AS files,
         COALESCE(SUM(deleted = 0 AND type = 'dir'), 0) AS dirs,
         COALESCE(SUM(CASE WHEN deleted = 0 THEN size ELSE 0 END), 0) AS bytes,
         COALESCE(SUM(deleted), 0) AS tombstones,
         COALESCE(SUM(deleted = 0 AND type <> 'dir' AND instr(substr(path, instr(path, '${CONFLICT_MARKER}')), '/') = 0 AND instr(path, '${CONFLICT_MARKER}') > 0), 0) AS conflicts
       FROM local WHERE folder = @folder`,
    );

    this.#getRemote = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM remote WHERE folder = @folder AND peer = @peer AND path = @path`,
    );
    this.#remotesFor = db.prepare(
      // INDEXED BY: without statistics SQLite prefers the primary key's folder prefix (it gives the
      // peer order for free), a scan of every peer's every path of the folder, on each call.
      `SELECT peer, ${ENTRY_COLUMNS} FROM remote INDEXED BY remote_by_path WHERE folder = @folder AND path = @path ORDER BY peer`,
    );
    this.#putRemote = db.prepare(
      `INSERT OR REPLACE INTO remote (folder, peer, ${ENTRY_COLUMNS}) VALUES (@folder, @peer, ${ENTRY_VALUES})`,
    );
    this.#deletePeerRemote = db.prepare('DELETE FROM remote WHERE folder = @folder AND peer = @peer');
    this.#deleteFolderRemote = db.prepare('DELETE FROM remote WHERE folder = @folder');
    this.#copyLocalToRemote = db.prepare(
      `INSERT INTO remote (folder, peer, ${ENTRY_COLUMNS})
       SELECT folder, @peer, ${ENTRY_COLUMNS} FROM local WHERE folder = @folder`,
    );
    this.#remoteDiffering = db.prepare(
      `SELECT ${REMOTE_ENTRY_COLUMNS}
       FROM remote r LEFT JOIN local l ON l.folder = r.folder AND l.path = r.path
       WHERE r.folder = @folder AND r.peer = @peer AND (l.path IS NULL OR l.version <> r.version)
       ORDER BY r.path`,
    );

    this.#getPeer = db.prepare('SELECT index_id, sequence FROM peer_state WHERE folder = @folder AND peer = @peer');
    this.#setPeer = db.prepare(
      `INSERT OR REPLACE INTO peer_state (folder, peer, index_id, sequence)
       VALUES (@folder, @peer, @indexId, @sequence)`,
    );
    this.#deletePeer = db.prepare('DELETE FROM peer_state WHERE folder = @folder AND peer = @peer');
    this.#deleteFolderPeers = db.prepare('DELETE FROM peer_state WHERE folder = @folder');
    this.#countOutOfSync = db.prepare<PeerKey, number>(`SELECT COUNT(*) FROM (${OUT_OF_SYNC_SQL})`).pluck();
    this.#listOutOfSync = db.prepare<PeerKey, string>(OUT_OF_SYNC_SQL).pluck();

    this.#commitLocalTx = db.transaction((folder: string, changes: readonly LocalChange[]) =>
      this.#commitLocalIn(folder, changes),
    );
    this.#forgetLocalTx = db.transaction((folder: string, paths: readonly string[]) =>
      this.#forgetLocalIn(folder, paths),
    );
    this.#resetFolderTx = db.transaction((folder: string) => {
      this.#deleteAllLocal.run({ folder });
      this.#deleteFolderRemote.run({ folder });
      this.#deleteFolderPeers.run({ folder });
      this.#setFolder.run({ folder, indexId: newIndexId(), maxSequence: 0, digest: EMPTY_DIGEST_HEX });
    });
    this.#applyRemoteTx = db.transaction(
      (folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo: number | undefined) =>
        this.#applyRemoteIn(folder, peer, indexId, entries, reset, readUpTo),
    );
    this.#adoptTx = db.transaction((folder: string, peer: string, indexId: string, sequence: number) => {
      this.#deletePeerRemote.run({ folder, peer });
      this.#copyLocalToRemote.run({ folder, peer });
      this.#setPeer.run({ folder, peer, indexId, sequence });
    });
    this.#atomicallyTx = db.transaction((fn: () => unknown) => fn());
    this.#forgetPeerTx = db.transaction((folder: string, peer: string) => {
      this.#deletePeerRemote.run({ folder, peer });
      this.#deletePeer.run({ folder, peer });
    });
  }

  /** Opens (creating and migrating as needed) the index at `file`; ':memory:' gives a throwaway one. */
  static open(file: string): IndexStore {
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
      return new IndexStore(db);
    } catch (err) {
      db?.close();
      if (err instanceof WizardError) throw err;
      throw new WizardError('INTERNAL', `opening the index ${file}: ${describeError(err)}`, { cause: err });
    }
  }

  /**
   * Opens the index; one that SQLite finds damaged (not a database, corrupt
   * pages, a torn header) is moved aside with its WAL and a fresh one is
   * created. Nothing is lost by that: the index only caches what a rescan
   * finds on disk and what peers resend, and with no history every local file
   * is new, so a difference with a peer becomes a conflict copy or a pull,
   * never a deletion. `onRebuilt` hears where the damaged file went.
   */
  static openOrRebuild(file: string, onRebuilt: (movedTo: string, err: unknown) => void): IndexStore {
    try {
      return IndexStore.open(file);
    } catch (err) {
      if (!isDamaged(err)) throw err;
      const movedTo = `${file}.damaged-${Date.now()}`;
      renameSync(file, movedTo);
      // The WAL and shared-memory files belong to the damaged database; replayed into a new one they would corrupt it.
      for (const suffix of ['-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      onRebuilt(movedTo, err);
      return IndexStore.open(file);
    }
  }

  /** Closes the database. The store must not be used afterwards. */
  close(): void {
    this.#db.close();
  }

  /** The folder's index ID, latest sequence and digest; a folder seen for the first time gets a fresh, empty index. */
  folderState(folder: string): FolderState {
    const row = this.#folderRow(folder);
    return { indexId: row.index_id, maxSequence: row.max_sequence, digest: row.digest };
  }

  /**
   * Forgets everything about a folder (our entries, peers' entries, read
   * positions) and gives it a new index ID, so peers drop what they read of
   * the old index instead of trusting stale sequences.
   */
  resetFolder(folder: string): void {
    this.#stats.delete(folder);
    this.#resetFolderTx(folder);
  }

  /** Our entry for `path`, if any (tombstones included). */
  getLocal(folder: string, path: string): LocalEntry | undefined {
    const row = this.#getLocal.get({ folder, path });
    return row === undefined ? undefined : toLocal(row);
  }

  /** Our paths whose name on disk is not their NFC form, with that name (see disk-names.ts). */
  localDiskNames(folder: string): Array<[string, string]> {
    return this.#diskNames.all({ folder }).map((row) => [row.path, row.disk_name]);
  }

  /** One of our live files with this content hash, if any (for renames and copies made elsewhere). */
  localWithHash(folder: string, hash: string): LocalEntry | undefined {
    const row = this.#localWithHash.get({ folder, hash });
    return row === undefined ? undefined : toLocal(row);
  }

  /** All our entries of the folder, by path. */
  allLocal(folder: string): LocalEntry[] {
    return this.#allLocal.all({ folder }).map(toLocal);
  }

  /** Our entries for `dir` itself and everything below it, by path; '' means the whole folder. */
  localUnder(folder: string, dir: string): LocalEntry[] {
    if (dir === '') return this.allLocal(folder);
    // '0' is the code point after '/', so [dir + '/', dir + '0') is exactly the
    // paths inside dir (SQLite's BINARY collation compares UTF-8 bytes, which
    // orders like code points).
    return this.#localUnder.all({ folder, dir, lo: `${dir}/`, hi: `${dir}0` }).map(toLocal);
  }

  /** Up to `limit` of our entries with a sequence above `afterSequence`, ascending. */
  localSince(folder: string, afterSequence: number, limit: number): LocalEntry[] {
    return this.#localSince.all({ folder, after: afterSequence, limit }).map(toLocal);
  }

  /**
   * Records local changes in one transaction: each gets the next sequence
   * (in array order; a path listed twice ends at its last change), and the
   * folder's digest follows. Returns the entries as stored.
   */
  commitLocal(folder: string, changes: readonly LocalChange[]): LocalEntry[] {
    if (changes.length === 0) return [];
    return this.#keepingStats(folder, () => this.#commitLocalTx(folder, changes));
  }

  /**
   * Runs the writes `fn` makes (entries, block sums) as one transaction:
   * all of them or none. One transaction instead of one per write is also
   * what makes a batch cheap: each commit costs a WAL append and its locks.
   */
  atomically<T>(fn: () => T): T {
    try {
      return this.#atomicallyTx(fn) as T;
    } catch (err) {
      // The counts were adjusted by writes that rolled back with the rest.
      this.#stats.clear();
      throw err;
    }
  }

  /**
   * Removes entries outright, for tombstones past their lifetime. The
   * sequence does not move: there is nothing new to send, and a peer that
   * still holds the tombstone keeps it harmlessly.
   */
  forgetLocal(folder: string, paths: readonly string[]): void {
    if (paths.length === 0) return;
    this.#keepingStats(folder, () => this.#forgetLocalTx(folder, paths));
  }

  /** Counts over our entries of the folder. */
  localStats(folder: string): LocalStats {
    let stats = this.#stats.get(folder);
    if (stats === undefined) {
      stats = { ...(this.#localStats.get({ folder }) ?? { files: 0, dirs: 0, bytes: 0, tombstones: 0, conflicts: 0 }) };
      this.#stats.set(folder, stats);
    }
    return { ...stats };
  }

  /** Runs a write that adjusts the folder's cached stats as it goes; a failed one drops them (its transaction rolled back). */
  #keepingStats<T>(folder: string, write: () => T): T {
    try {
      return write();
    } catch (err) {
      this.#stats.delete(folder);
      throw err;
    }
  }

  /** The peer's entry for `path`, as it last told us. */
  getRemote(folder: string, peer: string, path: string): FileEntry | undefined {
    const row = this.#getRemote.get({ folder, peer, path });
    return row === undefined ? undefined : toEntry(row);
  }

  /** Every peer's entry for `path`, by peer. */
  remotesFor(folder: string, path: string): Array<{ peer: string; entry: FileEntry }> {
    return this.#remotesFor.all({ folder, path }).map((row) => ({ peer: row.peer, entry: toEntry(row) }));
  }

  /**
   * Stores index entries a peer sent, in one transaction. `reset` (a full
   * index, or a new index ID) first drops everything we held for the peer.
   * The read position becomes the highest sequence seen, so the next request
   * asks only for what follows; `readUpTo` sets it instead (entries the caller held back).
   *
   * Returns the paths of `entries` whose version is not the one we hold:
   * only those can need a pull. Most entries a peer sends in a busy moment
   * are the echo of what it just pulled from us, at our own version.
   */
  applyRemote(folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo?: number): string[] {
    return this.#applyRemoteTx(folder, peer, indexId, entries, reset, readUpTo);
  }

  /** How far we have read the peer's index; `{ indexId: '', sequence: 0 }` when never. */
  peerState(folder: string, peer: string): PeerState {
    const row = this.#getPeer.get({ folder, peer });
    return row === undefined ? { indexId: '', sequence: 0 } : { indexId: row.index_id, sequence: row.sequence };
  }

  /**
   * Takes our own entries as the peer's index, for when the digests are equal
   * and the peer's index is known to match ours without being sent. The
   * copied entries carry our sequences, not the peer's; only the read
   * position (`sequence`) is the peer's.
   */
  adoptLocalAsRemote(folder: string, peer: string, indexId: string, sequence: number): void {
    this.#adoptTx(folder, peer, indexId, sequence);
  }

  /** Drops the peer's entries and read position for the folder. */
  forgetPeer(folder: string, peer: string): void {
    this.#forgetPeerTx(folder, peer);
  }

  /** The peer's entries whose version differs from ours, or that we have no entry for, by path. */
  remoteDiffering(folder: string, peer: string): FileEntry[] {
    return this.#remoteDiffering.all({ folder, peer }).map(toEntry);
  }

  /**
   * Paths on which we and the peer disagree: our live entries the peer lacks,
   * entries with different versions, and the peer's live entries we lack. A
   * tombstone facing nothing is agreement (both sides lack the file).
   * Paths for which `isIgnored` is true are not counted.
   */
  countOutOfSync(folder: string, peer: string, isIgnored?: (path: string) => boolean): number {
    if (isIgnored === undefined) return this.#countOutOfSync.get({ folder, peer }) ?? 0;
    let count = 0;
    for (const path of this.#listOutOfSync.iterate({ folder, peer })) if (!isIgnored(path)) count++;
    return count;
  }

  #folderRow(folder: string): FolderRow {
    // Read first: an insert attempt would take the write lock on every call.
    const existing = this.#getFolder.get({ folder });
    if (existing !== undefined) return existing;
    this.#insertFolder.run({ folder, indexId: newIndexId() });
    const row = this.#getFolder.get({ folder });
    if (row === undefined) throw new WizardError('INTERNAL', `folder ${folder} missing from the index right after insert`);
    return row;
  }

  #commitLocalIn(folder: string, changes: readonly LocalChange[]): LocalEntry[] {
    const state = this.#folderRow(folder);
    const digest = Buffer.from(state.digest, 'hex');
    let sequence = state.max_sequence;
    const stored: LocalEntry[] = [];
    const stats = this.#stats.get(folder);
    for (const change of changes) {
      const previous = this.#getLocal.get({ folder, path: change.path });
      if (previous !== undefined) {
        xorInto(digest, entryDigest(previous.path, parseCanonical(previous.version), previous.deleted !== 0));
        if (stats !== undefined) count(stats, previous, previous.deleted !== 0, -1);
      }
      const entry: LocalEntry = {
        path: change.path,
        type: change.type,
        size: change.size,
        mtimeMs: change.mtimeMs,
        mode: change.mode,
        hash: change.hash,
        target: change.target,
        version: change.version,
        deleted: change.deleted,
        sequence: ++sequence,
        inode: change.inode,
      };
      // Unsaid, a live path keeps the name it has on disk: a pull writes over the file under that name.
      const diskName = change.deleted ? '' : (change.diskName ?? (previous === undefined || previous.deleted !== 0 ? '' : previous.disk_name));
      xorInto(digest, entryDigest(entry.path, entry.version, entry.deleted));
      if (stats !== undefined) count(stats, entry, entry.deleted, 1);
      this.#putLocal.run({ ...toParams(entry), folder, inode: entry.inode, diskName });
      // Crash point: inside the open transaction, a row written and the commit not reached.
      crashPoint('mid-index-write');
      stored.push(diskName === '' ? entry : { ...entry, diskName });
    }
    this.#updateFolder.run({ folder, maxSequence: sequence, digest: digest.toString('hex') });
    return stored;
  }

  #forgetLocalIn(folder: string, paths: readonly string[]): void {
    const state = this.#folderRow(folder);
    const digest = Buffer.from(state.digest, 'hex');
    const stats = this.#stats.get(folder);
    for (const path of paths) {
      const previous = this.#getLocal.get({ folder, path });
      if (previous === undefined) continue;
      xorInto(digest, entryDigest(previous.path, parseCanonical(previous.version), previous.deleted !== 0));
      if (stats !== undefined) count(stats, previous, previous.deleted !== 0, -1);
      this.#deleteLocal.run({ folder, path });
    }
    this.#updateFolder.run({ folder, maxSequence: state.max_sequence, digest: digest.toString('hex') });
  }

  #applyRemoteIn(
    folder: string,
    peer: string,
    indexId: string,
    entries: readonly FileEntry[],
    reset: boolean,
    readUpTo: number | undefined,
  ): string[] {
    if (reset) this.#deletePeerRemote.run({ folder, peer });
    let sequence = reset ? 0 : this.peerState(folder, peer).sequence;
    const differing: string[] = [];
    for (const entry of entries) {
      const params = toParams(entry);
      this.#putRemote.run({ ...params, folder, peer });
      if (this.#localVersion.get({ folder, path: entry.path }) !== params.version) differing.push(entry.path);
      if (entry.sequence > sequence) sequence = entry.sequence;
    }
    this.#setPeer.run({ folder, peer, indexId, sequence: readUpTo ?? sequence });
    return differing;
  }
}

type MutableStats = { -readonly [K in keyof LocalStats]: LocalStats[K] };

/** Adds (`sign` 1) or removes (-1) one entry in `stats`, as the localStats query counts it. */
function count(stats: MutableStats, { path, type, size }: { path: string; type: string; size: number }, deleted: boolean, sign: 1 | -1): void {
  if (deleted) {
    stats.tombstones += sign;
    return;
  }
  if (type === 'dir') stats.dirs += sign;
  else stats.files += sign;
  if (type !== 'dir' && inConflictCopyName(path)) stats.conflicts += sign;
  stats.bytes += sign * size;
}

/** The marker in the last part of `path` (where its first one is), exactly as the localStats query tests it. */
function inConflictCopyName(path: string): boolean {
  const at = path.indexOf(CONFLICT_MARKER);
  return at >= 0 && !path.slice(at).includes('/');
}

/** 64 random bits: enough that two incarnations of one folder's index never share an ID. */
function newIndexId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * True when a write to the index failed for want of space or on an I/O error
 * (SQLITE_FULL, SQLITE_IOERR and its extended codes). The transaction rolled
 * back, so the index is the valid one from before the write: this is neither
 * damage (nothing to rebuild) nor fatal (it may pass once space frees); the
 * writer's component is restarted with backoff instead.
 */
export function isIndexWriteFailure(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_'))) return true;
  }
  return false;
}

/** SQLite result codes that mean the file is damaged, not merely unreadable (permissions are fatal, not rebuilt). */
const DAMAGED = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_INDEX']);

function isDamaged(err: unknown): boolean {
  return codeInChain(err, DAMAGED) !== undefined;
}
