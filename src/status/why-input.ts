/**
 * Collects what `explainPath` needs about one path from a running folder:
 * the index entries (ours and each peer's), ignore state, failures, the
 * download in progress, a deletion the budget holds, conflict copies on disk.
 */
import { toRelPath } from '../core/paths.js';
import type { IndexStore } from '../index/store.js';
import { classify, observe } from '../index/scanner.js';
import { conflictCopiesOf } from '../sync/conflicts/conflicts.js';
import type { Folder } from '../sync/folder.js';
import type { WhyInput } from './why.js';

/** What gathering needs from the node. */
export interface WhySources {
  readonly folder: Folder;
  readonly store: IndexStore;
  /** Every configured peer and whether it is connected now. */
  readonly peers: ReadonlyArray<{ id: string; name: string; connected: boolean }>;
  readonly nowMs: number;
}

/** The inputs of `explainPath` for `rel` (validated as a folder-relative path). */
export async function gatherWhy(src: WhySources, rel: string): Promise<WhyInput> {
  const { folder, store } = src;
  const path = toRelPath(rel);
  const remotes = new Map(store.remotesFor(folder.id, path).map((r) => [r.peer, r.entry]));
  const failure = folder.failureOf(path);
  const transfer = folder.transfers.list().find((t) => t.path === path);
  const { haltReason } = folder.status();
  const pollReason = folder.pollReason(path);
  const heldDeletion = folder.heldDeletionOf(path);
  const local = store.getLocal(folder.id, path);
  const disk = await observe(folder.root, path, folder.onDisk(path)).catch(() => undefined);
  const skipped = folder.skippedReason(path);
  const notYetScanned = disk === undefined ? local !== undefined && !local.deleted : classify(disk, local) !== 'same';
  return {
    folder: folder.id,
    path,
    nowMs: src.nowMs,
    ignored: folder.isIgnored(path),
    ...(haltReason === undefined ? {} : { haltReason }),
    ...(pollReason === undefined ? {} : { pollReason }),
    ...(skipped === undefined ? {} : { skipped }),
    local,
    changedSinceScan: notYetScanned,
    peers: src.peers.map((p) => ({ ...p, entry: remotes.get(p.id) })),
    ...(failure === undefined ? {} : { failure }),
    ...(transfer === undefined ? {} : { transfer }),
    ...(heldDeletion === undefined ? {} : { heldDeletion }),
    conflictCopies: await conflictCopiesOf(folder.root, path),
  };
}
