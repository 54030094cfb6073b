/**
 * What a folder needs from the node that runs it (FolderDeps), including its
 * view of the peers it shares with (FolderPeers). A module of its own so the
 * folder's parts (scan/, pull/) can name what they take of it without
 * importing the folder that imports them.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { FolderMode, Limits } from '../config/schema.js';
import type { IndexStore } from '../index/store.js';
import type { WalkOptions } from '../index/scanner.js';
import type { WatchDir } from '../index/dir-tree-watch.js';
import type { JobRunner } from '../workers/pool.js';
import type { SumsSource } from './pull/delta-plan.js';
import type { BlockSource } from './pull/fetch.js';
import type { TransferSlots } from './pull/transfer-slots.js';
import type { DeletionBudget } from './deletions/safety.js';

/** The folder's view of the peers it shares with. */
export interface FolderPeers {
  /** Connected peers that share this folder. */
  connected(): string[];
  /** Reads a block of a file from one peer. */
  readonly readBlock: BlockSource;
  /** Reads block sums of a file from one peer. */
  readonly readSums: SumsSource;
  /** New local entries are in the index: tell the peers. */
  announce(): void;
}

/** What a folder needs. */
export interface FolderDeps {
  readonly id: string;
  readonly root: string;
  readonly store: IndexStore;
  /** Our short node ID: the key we bump in version vectors. */
  readonly localId: string;
  /** A node's name by its short ID (ours or a peer's), '' when unknown: conflict copies and logs say whose edit. */
  readonly nodeName?: (shortId: string) => string;
  /** The daemon's umask, read once at start: what it lets through of a peer's permission bits. */
  readonly umask: number;
  readonly clock: Clock;
  /** Elapsed real time, which a wall-clock step does not move. */
  readonly monotonicMs: () => number;
  /** Stamps trash entries (the node's SteadyTime, so a clock step cannot get them purged early); `clock` when absent. */
  readonly trashClock?: Pick<Clock, 'now'>;
  readonly log: Logger;
  readonly peers: FolderPeers;
  /** The master ignore list's text (hot-reloadable); undefined while its file exists but has never been readable. */
  readonly masterIgnore: () => string | undefined;
  readonly limits: () => Limits;
  readonly rescanIntervalMs: () => number;
  readonly deletionBudget: () => DeletionBudget;
  readonly tombstoneDays: () => number;
  /** Worker threads for hashing and delta work. */
  readonly runner: JobRunner;
  /** The node's limit on concurrent downloads, shared with its other folders. */
  readonly slots: TransferSlots;
  /** Opens one dir's watch (fs.watch by default); tests inject watch failures here. */
  readonly watchDir?: WatchDir;
  /** How scans list a directory (see WalkOptions.readDir); node's readdir by default. */
  readonly readDir?: WalkOptions['readDir'];
  /** The folder's mode, read on every use (send-receive by default): send-only applies no peer's change. */
  readonly mode?: () => FolderMode;
}
