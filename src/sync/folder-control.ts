/**
 * What a folder's parts (its scans, its pulls) may ask of the folder that
 * runs them. The parts are separate modules, but some decisions concern the
 * whole folder: halting it, restarting it when the index cannot be written,
 * its timers (cancelled together when it stops), the index commit both sides
 * share. Those stay with the folder (folder.ts) and reach the parts through
 * this one interface instead of through a reference to the folder.
 */
import type { LocalEntry } from '../index/entry.js';

/** Where a folder is in its life; what it is doing while running is derived from its scans and pulls. */
export type FolderLifecycle = 'rehashing' | 'starting' | 'running' | 'halted' | 'stopped';

/** The folder, as its parts see it. */
export interface FolderControl {
  /** Where the folder is in its life now. */
  readonly lifecycle: () => FolderLifecycle;
  /** Runs `fn` after `ms`, unless the folder has stopped (stopping cancels what is pending). */
  readonly after: (ms: number, fn: () => void) => void;
  /** New local entries are in the index: tell the peers. */
  readonly announce: () => void;
  /** Has a pull round decide `paths` again; without, every path a peer differs on. */
  readonly requestPull: (paths?: Iterable<string>) => void;
  /** Queues a scan of `paths`; with `mayDelete` false it records no deletions there (see `Folder.queueScan`). */
  readonly queueScan: (paths: string[], mayDelete?: boolean) => void;
  /** The index could not be written: the folder stops, and its supervisor restarts it. */
  readonly indexWriteFailed: (err: unknown) => void;
  /** Records entries in the index, dropping the stored block sums of paths that are no longer live files. */
  readonly commitEntries: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
  /** What is wrong with the folder's root or marker; undefined while both are intact. */
  readonly integrityProblem: () => Promise<string | undefined>;
  /** Halts the folder to protect data; it resumes by itself once its root is intact again. */
  readonly halt: (reason: string) => void;
}
