/**
 * reconcile: what to do about one path, given our entry and every peer's.
 * Pure: values in, a decision out. The puller carries decisions out.
 *
 * Version vectors decide. When neither of two versions has seen the other
 * (concurrent edits), a deterministic winner is chosen the same way on every
 * node, so all of them converge on it: a live file beats a deletion (losing
 * data is never the safe choice), then the newer mtime, then the larger ID of
 * the node that made the last change.
 */
import { sameContent, type FileEntry } from '../index/entry.js';
import { compare, merge, type VersionVector } from '../versions/vector.js';

/** One peer's entry for a path. */
export interface RemoteEntry {
  readonly peer: string;
  readonly entry: FileEntry;
}

/** What to do about a path. */
export type Decision =
  /** Our entry is current, or newer than anything a peer has. */
  | { readonly kind: 'none' }
  /**
   * Make the local path match `entry` (fetch a file, make a dir or link, or
   * delete), then record it at `version`. `sources` are the peers that have
   * exactly `entry`'s content. `replacesConcurrent`: our entry was a
   * concurrent edit that lost (its content must not vanish silently).
   */
  | {
      readonly kind: 'take';
      readonly entry: FileEntry;
      readonly version: VersionVector;
      readonly sources: readonly string[];
      readonly replacesConcurrent: boolean;
    }
  /** Concurrent versions with identical content: record the merged version, touch nothing on disk. */
  | { readonly kind: 'merge'; readonly version: VersionVector };

const NONE: Decision = { kind: 'none' };

/** Decides what to do about one path. `local` is undefined when we have never seen the path. */
export function reconcile(local: FileEntry | undefined, remotes: readonly RemoteEntry[]): Decision {
  const best = newest(remotes.map((r) => r.entry));
  if (best === undefined) return NONE;
  const sources = remotes
    .filter((r) => !r.entry.deleted && compare(r.entry.version, best.version) === 'equal')
    .map((r) => r.peer);

  if (local === undefined) {
    return best.deleted ? NONE : { kind: 'take', entry: best, version: best.version, sources, replacesConcurrent: false };
  }
  switch (compare(best.version, local.version)) {
    case 'equal':
    case 'lesser':
      return NONE;
    case 'greater':
      if (best.deleted && local.deleted) return { kind: 'merge', version: best.version };
      return { kind: 'take', entry: best, version: best.version, sources, replacesConcurrent: false };
    case 'concurrent': {
      const version = merge(local.version, best.version);
      if (sameContent(local, best)) return { kind: 'merge', version };
      if (wins(local, best)) return NONE;
      return { kind: 'take', entry: best, version, sources, replacesConcurrent: true };
    }
  }
}

/** The newest of several entries: the one that dominates, or the winner among concurrent ones. */
export function newest(entries: readonly FileEntry[]): FileEntry | undefined {
  let best: FileEntry | undefined;
  for (const e of entries) {
    if (best === undefined) {
      best = e;
      continue;
    }
    const order = compare(e.version, best.version);
    if (order === 'greater' || (order === 'concurrent' && wins(e, best))) best = e;
  }
  return best;
}

/** Whether `a` beats `b` when their versions are concurrent. Total and symmetric: exactly one wins unless they are equal. */
export function wins(a: FileEntry, b: FileEntry): boolean {
  if (a.deleted !== b.deleted) return !a.deleted;
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs > b.mtimeMs;
  return lastModifier(a.version) > lastModifier(b.version);
}

/** The short ID holding the largest counter: the node that made the latest change. */
export function lastModifier(v: VersionVector): string {
  let who = '';
  let max = -1;
  for (const [id, counter] of Object.entries(v)) {
    if (counter > max || (counter === max && id > who)) {
      max = counter;
      who = id;
    }
  }
  return who;
}
