/**
 * reconcile: what to do about one path, given our entry and every peer's.
 * Pure: values in, a decision out. The puller carries decisions out.
 *
 * Version vectors decide. When neither of two versions has seen the other
 * (concurrent edits), a deterministic winner is chosen the same way on every
 * node, so all of them converge on it: a live file beats a deletion (losing
 * data is never the safe choice), a dir beats a file or link (it may hold
 * unseen content), then the newer mtime, then the larger ID of the node that
 * made the last change.
 */
import { sameContent, type FileEntry } from '../../index/entry.js';
import { canonical, compare, merge, type VersionVector } from '../../versions/vector.js';

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

/**
 * Decides what to do about one path. `local` is undefined when we have never
 * seen the path.
 *
 * The candidates are our entry and every peer's. The ones no other candidate
 * dominates are the live contenders; `wins` picks one of them the same way
 * on every node. Being concurrent is not transitive (a deletion can dominate
 * one edit and be concurrent with another), so the winner is chosen among all
 * contenders at once, never by comparing the best remote with ours alone.
 *
 * The version recorded for the winner merges ours with the versions of every
 * contender holding the winner's content, and nothing else: a contender with
 * other content stays concurrent, so its node sees a conflict and keeps its
 * version as a conflict copy instead of having it overruled.
 */
export function reconcile(local: FileEntry | undefined, remotes: readonly RemoteEntry[]): Decision {
  if (remotes.length === 0) return NONE;
  const all = local === undefined ? remotes.map((r) => r.entry) : [local, ...remotes.map((r) => r.entry)];
  const contenders = all.filter((e) => !all.some((o) => compare(o.version, e.version) === 'greater'));
  const winner = pickWinner(contenders);
  const version = contenders.filter((e) => sameContent(e, winner)).reduce((v, e) => merge(v, e.version), local?.version ?? {});

  if (local === undefined) {
    return winner.deleted ? NONE : { kind: 'take', entry: winner, version, sources: sourcesOf(remotes, winner), replacesConcurrent: false };
  }
  if (sameContent(local, winner)) {
    return compare(local.version, version) === 'equal' ? NONE : { kind: 'merge', version };
  }
  // Ours lost. It is a conflict when ours is a contender (no one has seen our change): then it is kept beside the winner.
  const replacesConcurrent = contenders.includes(local);
  return { kind: 'take', entry: winner, version, sources: sourcesOf(remotes, winner), replacesConcurrent };
}

/** Peers that hold exactly the winning version (and so its bytes). */
function sourcesOf(remotes: readonly RemoteEntry[], winner: FileEntry): string[] {
  if (winner.deleted) return [];
  return remotes.filter((r) => !r.entry.deleted && compare(r.entry.version, winner.version) === 'equal').map((r) => r.peer);
}

/** The contender every node picks: a total order, so the choice does not depend on the order entries arrive in. */
function pickWinner(contenders: readonly FileEntry[]): FileEntry {
  let best = contenders[0] as FileEntry;
  for (const e of contenders) if (wins(e, best)) best = e;
  return best;
}

/**
 * Whether `a` beats `b` when their versions are concurrent. A strict total
 * order on (live, dir, mtime, last modifier, version, content), so every node
 * picks the same winner: exactly one of two different entries wins.
 */
export function wins(a: FileEntry, b: FileEntry): boolean {
  if (a.deleted !== b.deleted) return !a.deleted;
  // A dir beats a file or link: it may hold content the other side never saw, which replacing it would delete.
  if ((a.type === 'dir') !== (b.type === 'dir')) return a.type === 'dir';
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs > b.mtimeMs;
  const [ma, mb] = [lastModifier(a.version), lastModifier(b.version)];
  if (ma !== mb) return ma > mb;
  const [va, vb] = [canonical(a.version), canonical(b.version)];
  if (va !== vb) return va > vb;
  return `${a.type}:${a.hash}:${a.target}` > `${b.type}:${b.hash}:${b.target}`;
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

/**
 * The decision for a path whose file on disk looks unflushed after a power
 * cut (see looksUnflushed): its bytes are not the version the index
 * records, so they must not be announced as an edit over the peers' copy. A
 * peer's newer version is taken as usual. When the peers agree with our
 * version (`decided` is none or a merge), that content itself is fetched
 * again from the live peers that hold it; with none, nothing is done yet.
 * Either way the caller keeps what is on disk as a conflict copy.
 */
export function restoreDecision(decided: Decision, local: FileEntry, remotes: readonly RemoteEntry[]): Decision {
  if (decided.kind === 'take') return decided;
  const sources = remotes.filter((r) => !r.entry.deleted && r.entry.type === 'file' && r.entry.hash === local.hash).map((r) => r.peer);
  if (sources.length === 0 || local.deleted || local.type !== 'file') return NONE;
  const version = decided.kind === 'merge' ? decided.version : local.version;
  return { kind: 'take', entry: local, version, sources, replacesConcurrent: false };
}
