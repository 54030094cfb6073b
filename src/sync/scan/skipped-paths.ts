/**
 * What a folder's scans found and could not sync: names that are not valid
 * UTF-8 or not valid on the wire, two spellings of one NFC name (a clash),
 * entries that could not be read. Status counts them and shows a few, and
 * `status --why` names the reason; before, a walk dropped them in silence.
 * Every walk updates the list for what it looked at, so a renamed or fixed
 * entry drops out on the next scan of its dir.
 */
import { isUnder, parentOf } from '../../core/paths.js';
import type { Skipped } from '../../index/scanner.js';

/** What one walk reports (see WalkResult). */
export interface WalkReport {
  /** Dirs whose listing was read. */
  readonly listed: readonly string[];
  /** Paths looked at and found fine. */
  readonly seen: Iterable<string>;
  readonly skipped: readonly Skipped[];
}

/** The skipped paths of one folder. */
export class SkippedPaths {
  readonly #byPath = new Map<string, Skipped>();

  /**
   * Takes what a walk found. A record in a dir the walk listed, or for a path
   * it saw fine, is dropped unless reported again. Returns the records that
   * are new (to log once, not at every rescan), and the clashes that ended
   * (their path can be pulled again). A walk that reports one dir at a time
   * passes `before`, the reasons when it began (see `reasons`): a dir that
   * could not be listed is dropped when its parent's step sees it, and
   * reported again by its own.
   */
  update(walked: WalkReport, before: ReadonlyMap<string, string> = this.reasons(walked.skipped.map((s) => s.path))): { fresh: Skipped[]; clashesEnded: string[] } {
    const ended: string[] = [];
    if (this.#byPath.size > 0) {
      const listed = new Set(walked.listed);
      const drop = (p: string) => {
        if (this.#byPath.get(p)?.clash === true) ended.push(p);
        this.#byPath.delete(p);
      };
      for (const p of [...this.#byPath.keys()]) if (listed.has(parentOf(p).normalize('NFC'))) drop(p);
      for (const p of walked.seen) if (this.#byPath.has(p)) drop(p);
    }
    const fresh: Skipped[] = [];
    for (const s of walked.skipped) {
      if (before.get(s.path) !== s.reason) fresh.push(s);
      this.#byPath.set(s.path, s);
    }
    return { fresh, clashesEnded: ended.filter((p) => !this.#byPath.has(p)) };
  }

  /** The reason of each skipped path now (of `paths` only, when given). */
  reasons(paths?: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of paths ?? this.#byPath.keys()) {
      const r = this.#byPath.get(p);
      if (r !== undefined) out.set(p, r.reason);
    }
    return out;
  }

  /** Why `rel`, or a dir above it, is not synced; undefined when nothing holds it. */
  reasonFor(rel: string): string | undefined {
    if (this.#byPath.size === 0) return undefined;
    for (let p = rel; ; p = parentOf(p)) {
      const r = this.#byPath.get(p);
      if (r !== undefined) return p === rel ? r.reason : `${p}: ${r.reason}`;
      if (p === '') return undefined;
    }
  }

  /**
   * The clash `rel` is at or below, if any: that path is two files (or dirs)
   * on disk that are one path to peers, so nothing at or below it is pulled,
   * and only a walk of the dir that holds both can tell when it is resolved.
   */
  clashAt(rel: string): string | undefined {
    if (this.#byPath.size === 0) return undefined;
    for (const r of this.#byPath.values()) if (r.clash === true && isUnder(rel, r.path)) return r.path;
    return undefined;
  }

  /** How many paths are skipped, and the first few by path. */
  summary(examples = 3): { count: number; examples: Skipped[] } | undefined {
    if (this.#byPath.size === 0) return undefined;
    const first = [...this.#byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, examples);
    return { count: this.#byPath.size, examples: first.map(({ path, reason }) => ({ path, reason })) };
  }
}
