/**
 * How a folder reports itself: the status `wizard status` and the page show,
 * and the errors worth the user's attention. Pure: it reads the folder's
 * parts as they are now (folder.ts hands them over) and decides what they
 * add up to (in sync or not, what is pending, what each error says).
 */
import type { FolderMode } from '../config/schema.js';
import type { IndexStore } from '../index/store.js';
import type { Skipped } from '../index/scanner.js';
import { type DeletionGate, describeHeld, type HeldDeletions } from './deletions/deletion-gate.js';
import { localChangeCount } from './mode-actions.js';
import type { RetryBook } from './pull/retry.js';
import type { TransferBook } from './pull/transfers.js';
import type { FullScans } from './scan/scan-pass.js';
import type { SkippedPaths } from './scan/skipped-paths.js';

/** A folder's state, as status shows it. */
export type FolderState = 'rehashing' | 'starting' | 'scanning' | 'syncing' | 'idle' | 'halted' | 'stopped' | 'paused';

/** Status of one folder. */
export interface FolderStatus {
  readonly id: string;
  readonly path: string;
  readonly state: FolderState;
  readonly haltReason?: string;
  readonly files: number;
  readonly bytes: number;
  readonly inSync: boolean;
  readonly pending: number;
  /** Deletions waiting for `wizard resume`, local ones and peers'. */
  readonly heldDeletions: number;
  /** While any are held: how many are local, how many each peer (node ID) sent, and why they are held. */
  readonly held?: HeldDeletions;
  /** Bytes of file content still to download in the current pull round. */
  readonly bytesLeft: number;
  /** Conflict copies in the folder (see 'wizard conflicts'); absent from older daemons. */
  readonly conflicts?: number;
  /** Why part of the folder is polled instead of watched (the inotify watch limit, and how to raise it). */
  readonly watchProblem?: string;
  /** Paths the scans could not sync (see SkippedPaths): how many, and the first few with why. */
  readonly skipped?: { readonly count: number; readonly examples: Skipped[] };
  /** Whole-folder scans completed since the daemon started, and how long the last one took. */
  readonly fullScans: FullScans;
  /** How it syncs; in send-only, `pending` counts the paths where peers differ (not applied here). */
  readonly mode: FolderMode;
  /** Receive-only: local changes not sent to the peers ('wizard folder revert' gives them up). */
  readonly localChanges?: number;
}

/** What a folder's status is made of, read when status is asked. */
export interface FolderStatusParts {
  readonly id: string;
  readonly root: string;
  readonly store: IndexStore;
  /** Connected peers that share the folder: each one's out-of-sync paths count as pending. */
  readonly connected: readonly string[];
  readonly isIgnored: (rel: string) => boolean;
  readonly state: FolderState;
  readonly haltReason: string | undefined;
  readonly watchProblem: string | undefined;
  readonly skipped: SkippedPaths;
  readonly deletions: DeletionGate;
  /** Paths handed over from a pull to a scan and not yet recorded. */
  readonly pendingHandOffs: number;
  /** Bytes the current pull round set out to download. */
  readonly bytesPlanned: number;
  readonly transfers: TransferBook;
  readonly fullScans: FullScans;
  readonly mode: FolderMode;
}

/** The folder's status: in sync only when idle, with no path out of sync with a connected peer and no deletion held. */
export function folderStatus(p: FolderStatusParts): FolderStatus {
  const stats = p.store.localStats(p.id);
  let outOfSync = 0;
  for (const peer of p.connected) outOfSync += p.store.countOutOfSync(p.id, peer, p.isIgnored);
  const skipped = p.skipped.summary();
  const held = p.deletions.held;
  return {
    id: p.id,
    path: p.root,
    state: p.state,
    ...(p.haltReason === undefined ? {} : { haltReason: p.haltReason }),
    files: stats.files,
    bytes: stats.bytes,
    conflicts: stats.conflicts,
    inSync: p.state === 'idle' && outOfSync === 0 && held === undefined,
    pending: Math.max(outOfSync, p.pendingHandOffs),
    heldDeletions: held?.count ?? 0,
    ...(held === undefined ? {} : { held }),
    bytesLeft: Math.max(0, p.bytesPlanned - p.transfers.list().reduce((n, t) => n + t.bytesDone, 0)),
    ...(p.watchProblem === undefined ? {} : { watchProblem: p.watchProblem }),
    ...(skipped === undefined ? {} : { skipped }),
    fullScans: p.fullScans,
    mode: p.mode,
    ...(p.mode === 'receive-only' ? { localChanges: localChangeCount(p.store, p.id) } : {}),
  };
}

/**
 * The status of a paused folder, which does not run: what its index held when
 * it was paused. Never in sync, nothing pending: it is not compared with any
 * peer until it is unpaused.
 */
export function pausedFolderStatus(folder: { readonly id: string; readonly path: string; readonly mode: FolderMode }, store: IndexStore): FolderStatus {
  const stats = store.localStats(folder.id);
  return {
    id: folder.id,
    path: folder.path,
    state: 'paused',
    files: stats.files,
    bytes: stats.bytes,
    conflicts: stats.conflicts,
    inSync: false,
    pending: 0,
    heldDeletions: 0,
    bytesLeft: 0,
    fullScans: { count: 0, lastMs: 0, lastAtMs: 0 },
    mode: folder.mode,
  };
}

/** What a folder's errors are made of. */
export interface FolderErrorParts {
  readonly id: string;
  readonly deletions: DeletionGate;
  /** Why the folder's own ignore file is not in force, if it is not. */
  readonly ignoreProblem: string | undefined;
  /** Paths that keep failing to sync. */
  readonly failures: RetryBook;
  /** Local paths that could not be read. */
  readonly readFailures: RetryBook;
  /** Files that look unflushed after a power cut (never recorded as edits). */
  readonly unflushed: Iterable<string>;
}

/** Errors worth showing the user, a line each, each naming the folder and what happens next. */
export function folderErrors(p: FolderErrorParts): string[] {
  const h = p.deletions.held;
  const held = h === undefined ? [] : [describeHeld(p.id, h)];
  const ignoreFile = p.ignoreProblem === undefined ? [] : [`${p.id}: ${p.ignoreProblem}`];
  const failing = p.failures.describe().map((line) => `${p.id}/${line}`);
  const unreadable = p.readFailures.describe().map((line) => `${p.id}/${line} (cannot read it here; retrying)`);
  const unflushed = [...p.unflushed].map(
    (rel) =>
      `${p.id}/${rel}: it shrank but its modification time did not change (data lost in a crash or power cut?); not sent to peers: the recorded version is restored from a peer and this content kept as a conflict copy`,
  );
  return [...held, ...ignoreFile, ...failing, ...unreadable, ...unflushed];
}
