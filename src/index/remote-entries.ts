/**
 * What the peers told us, in the index database: each peer's last entries
 * per folder (the `remote` table) and how far its index has been read
 * (`peer_state`). The store's other half, beside our own entries; it reads
 * `local` only to compare (which paths differ, which need a pull).
 */
import type Database from 'better-sqlite3';
import type { FileEntry } from './entry.js';
import {
  ENTRY_COLUMNS,
  ENTRY_VALUES,
  type EntryParams,
  type EntryRow,
  type FolderKey,
  OUT_OF_SYNC_SQL,
  type PathKey,
  type PeerKey,
  REMOTE_ENTRY_COLUMNS,
  type Statement,
  toEntry,
  toParams,
} from './store-rows.js';

/** How far we have read a peer's index of one folder. */
export interface PeerState {
  /** The peer's index ID; '' when we know nothing of it. */
  readonly indexId: string;
  /** The highest sequence of the peer's we have stored. */
  readonly sequence: number;
}

/** The peers' entries and read positions. Synchronous; each mutation is one transaction. */
export class RemoteEntries {
  readonly #getRemote: Statement<PeerKey & { path: string }, EntryRow>;
  readonly #remotesFor: Statement<PathKey, EntryRow & { peer: string }>;
  readonly #putRemote: Statement<EntryParams & PeerKey>;
  readonly #deletePeerRemote: Statement<PeerKey>;
  readonly #deleteFolderRemote: Statement<FolderKey>;
  readonly #copyLocalToRemote: Statement<PeerKey>;
  readonly #remoteDiffering: Statement<PeerKey, EntryRow>;
  readonly #localVersion: Statement<PathKey, string>;
  readonly #getPeer: Statement<PeerKey, { index_id: string; sequence: number }>;
  readonly #setPeer: Statement<PeerKey & { indexId: string; sequence: number }>;
  readonly #deletePeer: Statement<PeerKey>;
  readonly #deleteFolderPeers: Statement<FolderKey>;
  readonly #countOutOfSync: Statement<PeerKey, number>;
  readonly #listOutOfSync: Statement<PeerKey, string>;
  readonly #applyTx: (folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo: number | undefined) => string[];
  readonly #adoptTx: (folder: string, peer: string, indexId: string, sequence: number) => void;
  readonly #forgetPeerTx: (folder: string, peer: string) => void;

  constructor(db: Database.Database) {
    this.#getRemote = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM remote WHERE folder = @folder AND peer = @peer AND path = @path`);
    this.#remotesFor = db.prepare(
      // INDEXED BY: without statistics SQLite prefers the primary key's folder prefix (it gives the
      // peer order for free), a scan of every peer's every path of the folder, on each call.
      `SELECT peer, ${ENTRY_COLUMNS} FROM remote INDEXED BY remote_by_path WHERE folder = @folder AND path = @path ORDER BY peer`,
    );
    this.#putRemote = db.prepare(`INSERT OR REPLACE INTO remote (folder, peer, ${ENTRY_COLUMNS}) VALUES (@folder, @peer, ${ENTRY_VALUES})`);
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
    this.#localVersion = db.prepare<PathKey, string>('SELECT version FROM local WHERE folder = @folder AND path = @path').pluck();
    this.#getPeer = db.prepare('SELECT index_id, sequence FROM peer_state WHERE folder = @folder AND peer = @peer');
    this.#setPeer = db.prepare(
      `INSERT OR REPLACE INTO peer_state (folder, peer, index_id, sequence)
       VALUES (@folder, @peer, @indexId, @sequence)`,
    );
    this.#deletePeer = db.prepare('DELETE FROM peer_state WHERE folder = @folder AND peer = @peer');
    this.#deleteFolderPeers = db.prepare('DELETE FROM peer_state WHERE folder = @folder');
    this.#countOutOfSync = db.prepare<PeerKey, number>(`SELECT COUNT(*) FROM (${OUT_OF_SYNC_SQL})`).pluck();
    this.#listOutOfSync = db.prepare<PeerKey, string>(OUT_OF_SYNC_SQL).pluck();

    this.#applyTx = db.transaction(
      (folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo: number | undefined) =>
        this.#applyIn(folder, peer, indexId, entries, reset, readUpTo),
    );
    this.#adoptTx = db.transaction((folder: string, peer: string, indexId: string, sequence: number) => {
      this.#deletePeerRemote.run({ folder, peer });
      this.#copyLocalToRemote.run({ folder, peer });
      this.#setPeer.run({ folder, peer, indexId, sequence });
    });
    this.#forgetPeerTx = db.transaction((folder: string, peer: string) => {
      this.#deletePeerRemote.run({ folder, peer });
      this.#deletePeer.run({ folder, peer });
    });
  }

  /** The peer's entry for `path`, as it last told us. */
  get(folder: string, peer: string, path: string): FileEntry | undefined {
    const row = this.#getRemote.get({ folder, peer, path });
    return row === undefined ? undefined : toEntry(row);
  }

  /** Every peer's entry for `path`, by peer. */
  forPath(folder: string, path: string): Array<{ peer: string; entry: FileEntry }> {
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
  apply(folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo?: number): string[] {
    return this.#applyTx(folder, peer, indexId, entries, reset, readUpTo);
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
  adoptLocal(folder: string, peer: string, indexId: string, sequence: number): void {
    this.#adoptTx(folder, peer, indexId, sequence);
  }

  /** Drops the peer's entries and read position for the folder. */
  forgetPeer(folder: string, peer: string): void {
    this.#forgetPeerTx(folder, peer);
  }

  /** Drops every peer's entries and read positions for the folder; the caller runs it in its transaction. */
  clearFolder(folder: string): void {
    this.#deleteFolderRemote.run({ folder });
    this.#deleteFolderPeers.run({ folder });
  }

  /** The peer's entries whose version differs from ours, or that we have no entry for, by path. */
  differing(folder: string, peer: string): FileEntry[] {
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

  #applyIn(folder: string, peer: string, indexId: string, entries: readonly FileEntry[], reset: boolean, readUpTo: number | undefined): string[] {
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
