/**
 * The persistent index: our own entries per folder, the last index each peer
 * sent us, and how far each peer's index has been read (remote-entries.ts).
 * One SQLite file per home, written only in transactions, so a kill -9 leaves
 * either the state before a batch or the state after it.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { crashPoint } from '../core/crash-point.js';
import { WizardError } from '../core/errors.js';
import { EMPTY_DIGEST_HEX, entryDigestOf, xorInto } from './digest.js';
import type { FileEntry, LocalEntry } from './entry.js';
import { RemoteEntries, type PeerState } from './remote-entries.js';
import { ENTRY_COLUMNS, ENTRY_VALUES, type EntryParams, type FolderKey, type FolderRow, type LocalRow, type PathKey, type Statement, toLocal, toParams } from './store-rows.js';
import { StaleHashes } from './stale-hashes.js';
import { LocalReads } from './local-reads.js';
import { BlockSumStore } from './sums.js';
import { count, LOCAL_STATS_SQL, type LocalStats, type MutableStats } from './local-stats.js';
import { openIndexDatabase, openOrRebuildIndexDatabase } from './index-file.js';
import type { CheckpointResult } from './wal-index.js';

export type { PeerState } from './remote-entries.js';
export type { LocalStats } from './local-stats.js';
export { isIndexWriteFailure } from './index-failures.js';

/** A folder's own index, as announced in `Hello`. */
export interface FolderState {
  /** Random ID of this incarnation of the index; a new one tells peers to forget what they read. */
  readonly indexId: string;
  /** The sequence of the latest local change. */
  readonly maxSequence: number;
  /** XOR of the entry digests (hex), see `digest.ts`. */
  readonly digest: string;
}

/** A local change to record; the store assigns its sequence. */
export type LocalChange = Omit<LocalEntry, 'sequence'>;

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
  readonly #putLocal: Statement<EntryParams & FolderKey & { inode: number; diskName: string }>;
  readonly #diskNames: Statement<FolderKey, { path: string; disk_name: string }>;
  readonly #deleteLocal: Statement<PathKey>;
  readonly #deleteAllLocal: Statement<FolderKey>;
  readonly #localStats: Statement<FolderKey, LocalStats>;
  /** localStats per folder, counted once and then kept up to date by every write (a full count is a pass over the folder); dropped when a write fails. */
  readonly #stats = new Map<string, MutableStats>();
  readonly #commitLocalTx: (folder: string, changes: readonly LocalChange[]) => LocalEntry[];
  readonly #forgetLocalTx: (folder: string, paths: readonly string[]) => void;
  readonly #resetFolderTx: (folder: string) => void;
  readonly #atomicallyTx: (fn: () => unknown) => unknown;
  /** Called after each write of the store that ends outside a transaction (wal-checkpointer.ts). */
  #committed: () => void = () => undefined;
  /** Block sums of our own files. */
  readonly sums: BlockSumStore;
  /** What the peers told us: their entries and how far their indexes were read. */
  readonly remote: RemoteEntries;
  /** Paths whose hash predates identity v2, to rehash. */
  readonly staleHashes: StaleHashes;
  /** Our entries read by path range: a subtree, one dir's children in batches. */
  readonly reads: LocalReads;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.sums = new BlockSumStore(db);
    this.remote = new RemoteEntries(db);
    this.staleHashes = new StaleHashes(db);
    this.reads = new LocalReads(db);
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
    this.#localWithHash = db.prepare(
      // INDEXED BY: without statistics SQLite prefers the primary key's folder prefix, a scan of the whole folder.
      `SELECT ${ENTRY_COLUMNS}, inode, disk_name FROM local INDEXED BY local_by_hash_prefix
       WHERE folder = @folder AND substr(hash, 1, 8) = substr(@hash, 1, 8) AND hash = @hash AND deleted = 0 AND type = 'file' LIMIT 1`,
    );
    this.#putLocal = db.prepare(
      `INSERT OR REPLACE INTO local (folder, ${ENTRY_COLUMNS}, inode, disk_name) VALUES (@folder, ${ENTRY_VALUES}, @inode, @diskName)`,
    );
    this.#diskNames = db.prepare(`SELECT path, disk_name FROM local INDEXED BY local_disk_names WHERE folder = @folder AND disk_name <> ''`);
    this.#deleteLocal = db.prepare('DELETE FROM local WHERE folder = @folder AND path = @path');
    this.#deleteAllLocal = db.prepare('DELETE FROM local WHERE folder = @folder');
    this.#localStats = db.prepare(LOCAL_STATS_SQL);

    this.#commitLocalTx = db.transaction((folder: string, changes: readonly LocalChange[]) =>
      this.#commitLocalIn(folder, changes),
    );
    this.#forgetLocalTx = db.transaction((folder: string, paths: readonly string[]) =>
      this.#forgetLocalIn(folder, paths),
    );
    this.#resetFolderTx = db.transaction((folder: string) => {
      this.#deleteAllLocal.run({ folder });
      this.remote.clearFolder(folder);
      this.staleHashes.clear(folder);
      this.#setFolder.run({ folder, indexId: newIndexId(), maxSequence: 0, digest: EMPTY_DIGEST_HEX });
    });
    this.#atomicallyTx = db.transaction((fn: () => unknown) => fn());
  }

  /** Opens (creating and migrating as needed) the index at `file`; ':memory:' gives a throwaway one. */
  static open(file: string): IndexStore {
    return new IndexStore(openIndexDatabase(file));
  }

  /** Opens the index; a damaged file is moved aside for a fresh one (openOrRebuildIndexDatabase). */
  static openOrRebuild(file: string, onRebuilt: (movedTo: string, err: unknown) => void): IndexStore {
    return new IndexStore(openOrRebuildIndexDatabase(file, onRebuilt));
  }

  /**
   * For wal-checkpointer.ts: turns SQLite's own checkpoints on this connection off (inside the
   * commit that took the WAL past 1,000 pages) and calls `committed` after each write, or with
   * undefined turns them back on. Returns a passive checkpoint on this connection.
   */
  checkpointsElsewhere(committed: (() => void) | undefined): () => CheckpointResult | undefined {
    this.#db.pragma(`wal_autocheckpoint = ${committed === undefined ? 1000 : 0}`);
    this.#committed = committed ?? (() => undefined);
    return () => (this.#db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[])[0];
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
    this.#wrote(this.#resetFolderTx(folder));
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

  /** LocalReads.all. */
  allLocal(folder: string): LocalEntry[] {
    return this.reads.all(folder);
  }

  /** LocalReads.under. */
  localUnder(folder: string, dir: string): LocalEntry[] {
    return this.reads.under(folder, dir);
  }

  /** LocalReads.since. */
  localSince(folder: string, afterSequence: number, limit: number): LocalEntry[] {
    return this.reads.since(folder, afterSequence, limit);
  }

  /**
   * Records local changes in one transaction: each gets the next sequence
   * (in array order; a path listed twice ends at its last change), and the
   * folder's digest follows. Returns the entries as stored.
   */
  commitLocal(folder: string, changes: readonly LocalChange[]): LocalEntry[] {
    if (changes.length === 0) return [];
    return this.#wrote(this.#keepingStats(folder, () => this.#commitLocalTx(folder, changes)));
  }

  /**
   * Runs the writes `fn` makes (entries, block sums) as one transaction:
   * all of them or none. One transaction instead of one per write is also
   * what makes a batch cheap: each commit costs a WAL append and its locks.
   */
  atomically<T>(fn: () => T): T {
    try {
      return this.#wrote(this.#atomicallyTx(fn) as T);
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
    this.#wrote(this.#keepingStats(folder, () => this.#forgetLocalTx(folder, paths)));
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

  // The peers' side, kept by RemoteEntries (`remote`); these names are what callers have always used.

  /** RemoteEntries.get. */
  getRemote(folder: string, peer: string, path: string): FileEntry | undefined {
    return this.remote.get(folder, peer, path);
  }

  /** RemoteEntries.forPath. */
  remotesFor(folder: string, path: string): Array<{ peer: string; entry: FileEntry }> {
    return this.remote.forPath(folder, path);
  }

  /** RemoteEntries.apply. */
  applyRemote(folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo?: number): string[] {
    return this.#wrote(this.remote.apply(folder, peer, indexId, entries, reset, readUpTo));
  }

  /** RemoteEntries.peerState. */
  peerState(folder: string, peer: string): PeerState {
    return this.remote.peerState(folder, peer);
  }

  /** RemoteEntries.adoptLocal. */
  adoptLocalAsRemote(folder: string, peer: string, indexId: string, sequence: number): void {
    this.#wrote(this.remote.adoptLocal(folder, peer, indexId, sequence));
  }

  /** RemoteEntries.forgetPeer. */
  forgetPeer(folder: string, peer: string): void {
    this.#wrote(this.remote.forgetPeer(folder, peer));
  }

  /** Passes `result` through, telling #committed of a write that ended outside a transaction. */
  #wrote<T>(result: T): T {
    if (!this.#db.inTransaction) this.#committed();
    return result;
  }

  /** RemoteEntries.differing. */
  remoteDiffering(folder: string, peer: string): FileEntry[] {
    return this.remote.differing(folder, peer);
  }

  /** RemoteEntries.countOutOfSync. */
  countOutOfSync(folder: string, peer: string, isIgnored?: (path: string) => boolean): number {
    return this.remote.countOutOfSync(folder, peer, isIgnored);
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
        xorInto(digest, entryDigestOf(previous.path, previous.version, previous.deleted !== 0));
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
      // The version's canonical form once, for the digest and the row alike (the old row's digest is of the string stored).
      const params = toParams(entry);
      xorInto(digest, entryDigestOf(entry.path, params.version, entry.deleted));
      if (stats !== undefined) count(stats, entry, entry.deleted, 1);
      this.#putLocal.run(Object.assign(params, { folder, inode: entry.inode, diskName }));
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
      xorInto(digest, entryDigestOf(previous.path, previous.version, previous.deleted !== 0));
      if (stats !== undefined) count(stats, previous, previous.deleted !== 0, -1);
      this.#deleteLocal.run({ folder, path });
    }
    this.#updateFolder.run({ folder, maxSequence: state.max_sequence, digest: digest.toString('hex') });
  }
}

/** 64 random bits: enough that two incarnations of one folder's index never share an ID. */
function newIndexId(): string {
  return randomBytes(8).toString('hex');
}
