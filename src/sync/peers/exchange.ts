/**
 * PeerLink: the index exchange and block service over one session with one
 * peer. At the start it sends each shared folder's index (all of it, or only
 * what the peer has not seen, or nothing when both digests agree); afterwards
 * every local change follows as an `index` message, and the peer's arrive the
 * same way. A large index goes out as fast as the peer takes it: batches wait
 * in the session only up to its bound, and the rest follow as those leave.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { FileEntry } from '../../index/entry.js';
import type { IndexStore } from '../../index/store.js';
import { INDEX_BATCH_VALUES } from '../../protocol/budgets.js';
import {
  LIMITS,
  type FileAnswer,
  type FilesRequestMessage,
  type Hello,
  type HelloFolder,
  type IndexMessage,
  type IntroduceMessage,
  type RequestMessage,
  type RevocationsMessage,
  type SumsRequestMessage,
} from '../../protocol/messages.js';
import { truncateChars } from '../../protocol/fields.js';
import { type PeerSession, type SessionHandler } from '../../transport/session.js';
import type { Folder } from '../folder.js';
import { FutureEntries, type RefusedEntry } from './future-entries.js';
import type { ServeQueue } from '../serve/serve-budget.js';
import { ServeError, type WireSums } from '../serve/serve.js';

/** What a link needs from the node. */
export interface PeerLinkDeps {
  readonly session: PeerSession;
  readonly store: IndexStore;
  /** The folder with this ID, if we have it. */
  readonly folder: (id: string) => Folder | undefined;
  /** Whether the folder is shared with this peer now (the config, read on every message: never what the peer says). */
  readonly isShared: (folder: string) => boolean;
  /** Already bound to the peer (`peer` in every line): a line that adds it again has the key twice. */
  readonly log: Logger;
  /** This link's share of the node's serving budget: block reads and sums hashing wait their turn in it. */
  readonly serving: ServeQueue;
  /** Judges version counters against it, and times entries held until it reaches theirs. */
  readonly clock: Clock;
  /** Entries of `folder` the peer sent were refused for implausible version counters. */
  readonly onRefused?: (folder: string, refused: readonly RefusedEntry[]) => void;
  /** The session ended. */
  readonly onClose: (link: PeerLink, reason: string) => void;
  /** A revocation list or an introduction from the peer (trust/trust-service.ts). */
  readonly onTrust?: (msg: RevocationsMessage | IntroduceMessage) => void;
  /** Entries of ours not to send (a receive-only folder's local changes); none by default. */
  readonly withholds?: (folder: string, entry: FileEntry) => boolean;
}

/** Our Hello entry for a folder. */
export function helloFolder(store: IndexStore, folder: string, peer: string | undefined): HelloFolder {
  const state = store.folderState(folder);
  const have = peer === undefined ? { indexId: '', sequence: 0 } : store.peerState(folder, peer);
  return { id: folder, indexId: state.indexId, maxSequence: state.maxSequence, digest: state.digest, have };
}

/** The index exchange with one connected peer. */
export class PeerLink implements SessionHandler {
  /** Folder ID -> highest local sequence already sent to this peer. */
  private readonly sent = new Map<string, number>();
  /** Folder ID -> highest sequence of the peer's index read on this link (stored, or held back). */
  private readonly read = new Map<string, number>();
  /** The peer's entries whose counters are ahead of our clock, until it reaches them. */
  private readonly future: FutureEntries;
  /** Folders whose held entries were logged on this link. */
  private readonly heldLogged = new Set<string>();
  /** Folders whose full index is due and whose first batch (the one with `reset`) has not gone yet. */
  private readonly resetDue = new Set<string>();
  /** Folders not shared with this peer that it spoke of, logged once each on this link. */
  private readonly ignoredLogged = new Set<string>();

  constructor(private readonly deps: PeerLinkDeps) {
    this.future = new FutureEntries({ clock: deps.clock, onDue: (folder, indexId, entries) => this.take(folder, indexId, entries, false) });
  }

  get peerId(): string {
    return this.deps.session.peerId;
  }

  get session(): PeerSession {
    return this.deps.session;
  }

  /** Folders both sides have. */
  get sharedFolders(): string[] {
    return [...this.sent.keys()];
  }

  /** Whether this folder is exchanged with the peer: both named it at Hello, and our config still shares it. */
  shares(folder: string): boolean {
    return this.mayExchange(folder);
  }

  /**
   * Starts the exchange after both Hellos: for every folder both sides have,
   * sends what the peer is missing of our index, then lets the folder pull.
   */
  start(ours: Hello, theirs: Hello): void {
    const { store, session } = this.deps;
    for (const remote of theirs.folders) {
      // Naming a folder never shares it: one of ours the peer may not have is ignored, and said once.
      if (!ours.folders.some((f) => f.id === remote.id) && this.deps.folder(remote.id) !== undefined) this.ignore(remote.id, 'hello');
    }
    for (const mine of ours.folders) {
      const remote = theirs.folders.find((f) => f.id === mine.id);
      if (remote === undefined || !this.deps.isShared(mine.id)) continue;
      if (remote.digest === mine.digest) {
        // Same (path, version) set on both sides: the peer's index is ours; nothing crosses the wire.
        store.adoptLocalAsRemote(mine.id, this.peerId, remote.indexId, remote.maxSequence);
        this.sent.set(mine.id, mine.maxSequence);
        continue;
      }
      const resume = remote.have.indexId === mine.indexId ? Math.min(remote.have.sequence, mine.maxSequence) : 0;
      this.sent.set(mine.id, resume);
      if (resume === 0) this.resetDue.add(mine.id);
      this.sendSince(mine.id);
    }
    session.attach(this);
    for (const id of this.sent.keys()) this.deps.folder(id)?.requestPull();
  }

  /** Whether the peer may exchange `folder` on this link now: agreed at Hello, and still shared by the config. */
  private mayExchange(folder: string): boolean {
    return this.sent.has(folder) && this.deps.isShared(folder);
  }

  /**
   * Logs, once per folder and link, that the peer spoke of one of our folders
   * it is not given. A folder we do not have is only a debug line (stale, or
   * made up: a peer inventing IDs must not flood the log). Only IDs valid on
   * the wire get here, so they print as they are.
   */
  private ignore(folder: string, what: 'hello' | 'index' | 'request' | 'sums-request'): void {
    if (this.deps.folder(folder) === undefined) {
      this.deps.log.debug({ folder, what }, 'the peer spoke of a folder we do not have; ignored');
      return;
    }
    if (this.ignoredLogged.has(folder)) return;
    this.ignoredLogged.add(folder);
    this.deps.log.warn({ folder, what }, 'the peer spoke of a folder that is not shared with it; ignored (logged once per link)');
  }

  /** Sends local entries the peer has not seen yet for `folder`. */
  announce(folder: string): void {
    if (!this.mayExchange(folder) || this.deps.session.isClosed) return;
    try {
      this.sendSince(folder);
    } catch (err) {
      // An unsendable batch would block every later change behind it: better to start the link over.
      this.deps.log.warn({ err: describeError(err) }, 'could not send index; reconnecting');
      this.deps.session.close(`could not send index: ${describeError(err)}`);
    }
  }

  onTrust(msg: RevocationsMessage | IntroduceMessage): void {
    this.deps.onTrust?.(msg);
  }

  onIndex(msg: IndexMessage): void {
    this.take(msg.folder, msg.indexId, msg.entries, msg.reset);
  }

  /**
   * Stores a batch of the peer's index, but for entries whose version
   * counters are implausible (versions/plausible.ts): those are refused, and
   * the link stays up; entries a little ahead of our clock are held until it
   * reaches them. The read position passes refused entries (asking again
   * gets the same answer) but stops short of held ones, so a link that ends
   * before their time gets them again from the next.
   */
  private take(folderId: string, indexId: string, entries: readonly FileEntry[], reset: boolean): void {
    const folder = this.deps.folder(folderId);
    if (folder === undefined || !this.mayExchange(folderId)) {
      // Stale (a folder removed a moment ago) or hostile (one never shared with it): the same answer, nothing stored.
      this.ignore(folderId, 'index');
      return;
    }
    const sorted = this.future.sort(folderId, indexId, entries, reset);
    if (sorted.refused.length > 0) this.deps.onRefused?.(folderId, sorted.refused);
    if (sorted.held > 0 && !this.heldLogged.has(folderId)) {
      this.heldLogged.add(folderId);
      this.deps.log.info({ folder: folderId, entries: sorted.held }, 'holding index entries whose version counters are ahead of this clock until it reaches them');
    }
    let highest = reset ? 0 : (this.read.get(folderId) ?? this.deps.store.peerState(folderId, this.peerId).sequence);
    for (const e of entries) highest = Math.max(highest, e.sequence);
    const lowestHeld = this.future.lowestHeld(folderId);
    const readUpTo = lowestHeld === undefined ? highest : Math.min(highest, lowestHeld - 1);
    let differing: string[];
    try {
      differing = this.deps.store.applyRemote(folderId, this.peerId, indexId, sorted.take, reset, readUpTo);
      this.read.set(folderId, highest);
    } catch (err) {
      // Not stored (the index cannot be written: disk full, I/O error). Carrying on would skip these
      // entries for good, as the peer sends each change once; a new session resumes from what was stored.
      this.deps.log.warn({ err: describeError(err) }, 'could not store the peer index; reconnecting');
      this.deps.session.close(`could not store the index: ${describeError(err)}`);
      return;
    }
    // A reset may have dropped entries too, so then every path is decided again. Otherwise only
    // entries at a version we do not hold can change anything (the rest are the peer catching up with us).
    if (reset) folder.requestPull();
    else if (differing.length > 0) folder.requestPull(differing);
  }

  async onRequest(msg: RequestMessage): Promise<Buffer> {
    this.servable(msg.folder, msg.path, 'request');
    // Checked again when its turn comes: a share withdrawn while it waited serves nothing.
    return this.deps.serving.run({ readBytes: msg.length, hashBytes: 0 }, () => this.servable(msg.folder, msg.path, 'request').serving.readBlock(msg));
  }

  /**
   * Many small files at once: the same checks per file as `onRequest` (the
   * folder shared with this peer, the path not ignored, the file the version
   * asked for), each failure its own answer; the reads wait their turn in the
   * serving budget together.
   */
  async onFilesRequest(msg: FilesRequestMessage): Promise<FileAnswer[]> {
    const readBytes = msg.files.reduce((sum, f) => sum + f.length, 0);
    const one = async (f: FilesRequestMessage['files'][number]): Promise<FileAnswer> => {
      try {
        return { path: f.path, data: await this.servable(msg.folder, f.path, 'request').serving.readBlock({ ...f, offset: 0 }) };
      } catch (err) {
        const code = err instanceof ServeError ? err.wireCode : 'io';
        return { path: f.path, code, message: truncateChars(describeError(err), LIMITS.maxMessageChars) };
      }
    };
    // Checked again when its turn comes, as for one request: a share withdrawn while it waited serves nothing.
    return this.deps.serving.run({ readBytes, hashBytes: 0 }, () => Promise.all(msg.files.map(one)));
  }

  async onSumsRequest(msg: SumsRequestMessage): Promise<WireSums> {
    const folder = this.servable(msg.folder, msg.path, 'sums-request');
    // Stored sums are answered at once; only sums computed from the file wait for the budget.
    return folder.serving.readSums(msg, (bytes, job) => this.deps.serving.run({ readBytes: bytes, hashBytes: bytes }, job));
  }

  /** The folder a request may be served from, or the not-found a peer gets for a folder not shared with it (the same as for one we lack). */
  private servable(folderId: string, path: string, what: 'request' | 'sums-request'): Folder {
    const folder = this.deps.folder(folderId);
    if (folder === undefined || !this.mayExchange(folderId)) {
      this.ignore(folderId, what);
      throw new ServeError('not-found', `no shared folder ${folderId}`);
    }
    if (folder.isIgnored(path)) throw new ServeError('not-found', `${path} is not synced here`);
    return folder;
  }

  onClose(reason: string): void {
    this.future.close();
    this.deps.serving.close();
    this.deps.onClose(this, reason);
  }

  /** The session has room for index batches again: send what is still due, in every folder. */
  onIndexRoom(): void {
    for (const folder of this.sent.keys()) this.announce(folder);
  }

  /** Sends the entries of `folder` the peer has not been sent yet, while the session has room for them. */
  private sendSince(folder: string): void {
    const { store, session } = this.deps;
    const indexId = store.folderState(folder).indexId;
    let after = this.sent.get(folder) ?? 0;
    for (;;) {
      const entries = store.localSince(folder, after, LIMITS.maxEntriesPerIndex);
      const reset = this.resetDue.has(folder);
      if (entries.length === 0 && !reset) return;
      // An entry at the empty version (a receive-only revert's step back) claims nothing, and the wire refuses it.
      const sendable = entries.filter((e) => Object.keys(e.version).length > 0 && this.deps.withholds?.(folder, e) !== true);
      // An empty index still goes once, with `reset`, so the peer forgets what it held.
      for (const batch of sendable.length === 0 ? [[]] : byEncodedSize(sendable)) {
        if (batch.length === 0 && !this.resetDue.has(folder)) break;
        if (!session.hasIndexRoom()) return;
        session.send({
          type: 'index',
          folder,
          indexId,
          reset: this.resetDue.delete(folder),
          // Inodes and names on disk are ours alone; only wire fields cross.
          entries: batch.map(({ inode: _inode, diskName: _diskName, ...wire }) => wire),
        });
        const last = batch.at(-1);
        if (last !== undefined) {
          after = last.sequence;
          this.sent.set(folder, after);
        }
      }
      const last = entries.at(-1);
      if (last === undefined) return;
      // Withheld entries after the last one sent are passed over too.
      after = last.sequence;
      this.sent.set(folder, after);
    }
  }
}

/** Index bytes per message, far below the receiver's budget (budgets.ts) so a batch of long paths and wide vectors fits well inside. */
const MAX_INDEX_BATCH_BYTES = 1024 * 1024;
/** msgpack values of an index message besides its entries: the map, its five keys and their values. */
const INDEX_MESSAGE_VALUES = 11;

/**
 * Splits entries into batches whose encoded size stays under
 * MAX_INDEX_BATCH_BYTES (an upper estimate per entry) and whose msgpack
 * values stay under INDEX_BATCH_VALUES (exact), a quarter of what a receiver accepts.
 */
export function byEncodedSize<T extends { path: string; target: string; version: Readonly<Record<string, number>> }>(entries: readonly T[]): T[][] {
  const batches: T[][] = [[]];
  let bytes = 0;
  let values = INDEX_MESSAGE_VALUES;
  for (const e of entries) {
    const keys = Object.keys(e.version).length;
    // UTF-8 is at most 3 bytes per UTF-16 unit; each vector key is 16 hex plus a 9-byte number; 160 bytes for the rest.
    const size = 3 * (e.path.length + e.target.length) + 26 * keys + 160;
    // The entry map, its ten keys and ten values (the version map among them), and the version's keys and counters.
    const entryValues = 21 + 2 * keys;
    const current = batches.at(-1) as T[];
    if ((bytes + size > MAX_INDEX_BATCH_BYTES || values + entryValues > INDEX_BATCH_VALUES) && current.length > 0) {
      batches.push([e]);
      bytes = size;
      values = INDEX_MESSAGE_VALUES + entryValues;
    } else {
      current.push(e);
      bytes += size;
      values += entryValues;
    }
  }
  return batches;
}
