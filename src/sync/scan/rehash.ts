/**
 * The one-time rehash after an upgrade to identity v2 (index schema 5): every
 * file whose recorded hash still means one SHA-256 of the whole file
 * (index/stale-hashes.ts) gets the content hash of core/content-hash.ts.
 *
 * Only the hash's meaning changes, not the content, so the entry keeps its
 * version: no peer sees a change of ours. It gets a new sequence, so peers
 * are sent the entry again with the new hash (they withheld nothing: what
 * they had from us was forgotten at their own upgrade, and a stale entry is
 * never sent, node.ts `withholds`). The evidence that the bytes are the ones
 * recorded is the one every scan relies on: the file on disk has the size,
 * mtime and inode of the entry, before and throughout the read (hashFile
 * fails with CHANGED otherwise). A file that does not match is a local change
 * made while Wizard was down; it is left to the scan that follows, which
 * records it as one, with a new version.
 */
import { lstat } from 'node:fs/promises';
import type { Logger } from 'pino';

import { hasCode } from '../../core/errors.js';
import type { Mutex } from '../../core/mutex.js';
import { resolveOnDisk } from '../../core/paths.js';
import type { LocalEntry } from '../../index/entry.js';
import { sameStat, statKey } from '../../index/hash.js';
import { realAncestors } from '../../index/real-path.js';
import type { IndexStore } from '../../index/store.js';
import { hashFile } from '../../workers/hash-file.js';
import type { JobRunner } from '../../workers/pool.js';

/** Stale paths read from the index at a time. */
const BATCH = 256;

/** What the rehash needs of its folder. */
export interface RehashDeps {
  readonly id: string;
  readonly root: string;
  readonly store: IndexStore;
  readonly runner: JobRunner;
  /** The folder's lock: an entry is replaced only while nothing else writes the folder. */
  readonly lock: Mutex;
  /** A path's spelling on disk (disk-names.ts). */
  readonly onDisk: (rel: string) => string;
  /** Records entries (the folder's commitEntries: new sequences, versions as given). */
  readonly commit: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
  /** True once the folder is stopping: the rest is rehashed at its next start. */
  readonly stopped: () => boolean;
  readonly log: Logger;
}

/** What one rehash pass did. */
export interface RehashResult {
  /** Files given the new hash with their version unchanged. */
  readonly rehashed: number;
  /** Files left to the scan: changed on disk, gone, or unreadable. */
  readonly leftToScan: number;
}

/**
 * Rehashes every stale file of the folder, one at a time (a big file is still
 * split over the pool). Returns early, with the rest still stale, when the folder stops.
 */
export async function rehashStale(deps: RehashDeps): Promise<RehashResult> {
  const { id, store } = deps;
  let rehashed = 0;
  let leftToScan = 0;
  // Paths left to the scan stay listed (withheld from peers) until the scan has looked at them.
  const skipped = new Set<string>();
  for (;;) {
    const batch = store.staleHashes.some(id, BATCH + skipped.size).filter((p) => !skipped.has(p));
    if (batch.length === 0) break;
    for (const rel of batch) {
      if (deps.stopped()) return { rehashed, leftToScan };
      if (await rehashOne(deps, rel)) rehashed++;
      else {
        skipped.add(rel);
        leftToScan++;
      }
    }
  }
  if (rehashed + leftToScan > 0) deps.log.info({ rehashed, leftToScan }, 'rehashed the folder for content hashes v2 (protocol 6); versions unchanged');
  return { rehashed, leftToScan };
}

/** Gives `rel` the new hash if the disk still holds the recorded version; false when it is left to the scan. */
async function rehashOne(deps: RehashDeps, rel: string): Promise<boolean> {
  const { id, store } = deps;
  const entry = store.getLocal(id, rel);
  if (entry === undefined || entry.deleted || entry.type !== 'file') {
    // Nothing with an old hash is left at this path.
    store.staleHashes.delete(id, rel);
    return true;
  }
  const disk = deps.onDisk(rel);
  const abs = resolveOnDisk(deps.root, disk);
  const recorded = { size: entry.size, mtimeMs: entry.mtimeMs, inode: entry.inode };
  const st = realAncestors(deps.root, disk) ? await lstat(abs).catch(() => undefined) : undefined;
  if (st === undefined || !st.isFile() || !sameStat(recorded, statKey(st))) return false;
  let hashed;
  try {
    hashed = await hashFile(deps.runner, abs, recorded);
  } catch (err) {
    if (!hasCode(err, 'CHANGED')) deps.log.warn({ path: rel, err }, 'cannot read a file to rehash it; the scan will look at it');
    return false;
  }
  const { hash, sums } = hashed;
  return deps.lock.run(() => {
    // Recorded anew since (a scan or a pull): that entry's hash is in the new meaning already.
    const now = store.getLocal(id, rel);
    if (now?.sequence !== entry.sequence) {
      store.staleHashes.delete(id, rel);
      return true;
    }
    store.atomically(() => {
      const { sequence: _sequence, ...rest } = entry;
      deps.commit([{ ...rest, hash }]);
      if (sums !== undefined) store.sums.put(id, rel, hash, sums);
      store.staleHashes.delete(id, rel);
    });
    return true;
  });
}
