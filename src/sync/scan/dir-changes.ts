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
import type { DirStep } from '../../index/scanner.js';
import { byPath, differs, type Candidate } from './local-changes.js';

/** The index reads a comparison needs. */
export interface DirIndex {
  /** Our entry for one path. */
  getLocal(path: string): LocalEntry | undefined;
  /** Our entries strictly below `dir`, by path, leaving out what is below a child for which `skipBelow` says so (LocalReads.below). */
  below(dir: string, skipBelow: (child: string) => boolean): Iterable<LocalEntry>;
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
  const deleted = (prev: LocalEntry): void => {
    if (!prev.deleted && !rules.isIgnored(prev.path, prev.type === 'dir')) out.push({ path: prev.path, obs: undefined, prev });
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
  for (const prev of index.below(step.dir, skipBelow)) {
    const obs = step.seen.get(prev.path);
    if (obs === undefined) {
      // Gone, or below a child that is gone or no longer a dir; a child the walk could not look at is not gone.
      if (!unreadable.has(prev.path)) deleted(prev);
      continue;
    }
    matched.add(prev.path);
    if (differs(obs, prev, rules.mustHash)) out.push({ path: prev.path, obs, prev });
  }
  for (const obs of step.seen.values()) if (!matched.has(obs.path)) out.push({ path: obs.path, obs, prev: undefined });
  return out.sort(byPath);
}
