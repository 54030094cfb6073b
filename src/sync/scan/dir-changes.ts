/**
 * What one step of a walk (see walkDirs) changed against the index: the
 * walked path itself, or one dir's children, compared with that dir's
 * entries read a batch at a time. Decides exactly what a comparison of the
 * whole subtree would (`changedPaths`): a changed or new path is a
 * candidate; a live entry with nothing on disk is a deletion, unless the
 * path is ignored or at or below a path the walk could not read; an entry
 * below a child that is no longer a dir (gone, a file now, ignored) is a
 * deletion under the same rules. Its own module because this is the whole
 * of a scan's memory: one dir's listing and the entries of that dir.
 */
import type { LocalEntry } from '../../index/entry.js';
import type { ComparedRow } from '../../index/local-reads.js';
import type { DirStep } from '../../index/scanner.js';
import { byPath, differs, type Candidate } from './local-changes.js';

/** The index reads a comparison needs. */
export interface DirIndex {
  /** Our entry for one path. */
  getLocal(path: string): LocalEntry | undefined;
  /** Our entries strictly below `dir`, by path, leaving out what is below a child for which `skipBelow` says so (LocalReads.below). */
  below(dir: string, skipBelow: (child: string) => boolean): Iterable<LocalEntry>;
  /** `below` with only what a comparison reads (LocalReads.comparedBelow). */
  comparedBelow(dir: string, skipBelow: (child: string) => boolean): Iterable<ComparedRow>;
}

/** What decides a comparison besides the index. */
export interface DirRules {
  /** Paths that stop syncing: never recorded as deleted. */
  readonly isIgnored: (path: string, isDir: boolean) => boolean;
  /** Files to hash whatever their stat says (see ChangeRecorder.mustHash). */
  readonly mustHash: (path: string) => boolean;
}

/**
 * The candidates of one step of the walk of `rel`, sorted by path. A
 * step for a dir that could not be listed gives none: what is below it is
 * unknown, not deleted (S5).
 */
export function stepChanges(rel: string, step: DirStep, index: DirIndex, rules: DirRules): Candidate[] {
  const out: Candidate[] = [];
  const unreadable = new Set(step.unreadable);
  // A live entry with nothing on disk is a deletion, unless the path is ignored.
  const deletable = (e: ComparedRow): boolean => !e.deleted && !rules.isIgnored(e.path, e.type === 'dir');
  const deleted = (prev: LocalEntry): void => {
    if (deletable(prev)) out.push({ path: prev.path, obs: undefined, prev });
  };
  if (step.dir === undefined) {
    // The walked path itself; with rel '' the root, which has no entry and is listed by the next step.
    if (rel === '' || unreadable.has(rel)) return out;
    const obs = step.seen.get(rel);
    const prev = index.getLocal(rel);
    if (obs === undefined) {
      if (prev !== undefined) deleted(prev);
    } else if (differs(obs, prev, rules.mustHash)) out.push({ path: rel, obs, prev });
    // A dir is listed by the steps that follow; anything else has nothing below it any more.
    if (obs?.type !== 'dir') for (const below of index.below(rel, () => false)) deleted(below);
    return out;
  }
  if (!step.listed) return out;
  const matched = new Set<string>();
  // Below a child the walk lists itself (a dir) or could not read, the index is not read here.
  const skipBelow = (child: string): boolean => unreadable.has(child) || step.seen.get(child)?.type === 'dir';
  // Most entries of a rescan are unchanged: each is compared without its version and hash, and
  // only one that differs (or is gone) is read whole. Nothing writes between the two reads: this is one synchronous step.
  const whole = (row: ComparedRow): LocalEntry => index.getLocal(row.path) ?? fail(row.path);
  for (const row of index.comparedBelow(step.dir, skipBelow)) {
    const obs = step.seen.get(row.path);
    if (obs === undefined) {
      // Gone, or below a child that is gone or no longer a dir; a child the walk could not look at is not gone.
      if (!unreadable.has(row.path) && deletable(row)) out.push({ path: row.path, obs: undefined, prev: whole(row) });
      continue;
    }
    matched.add(row.path);
    if (differs(obs, row, rules.mustHash)) out.push({ path: row.path, obs, prev: whole(row) });
  }
  for (const obs of step.seen.values()) if (!matched.has(obs.path)) out.push({ path: obs.path, obs, prev: undefined });
  return out.sort(byPath);
}

function fail(path: string): never {
  throw new Error(`index entry for ${JSON.stringify(path)} vanished between two reads of one step`);
}
