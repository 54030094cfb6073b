/**
 * The deletion budget's memory of the last minute: which paths were deleted
 * (local deletions recorded, peers' deletions applied), and how big the
 * folder was before the first of them. Pure: the caller passes the time.
 *
 * The budget is judged over this sliding window, not per scan or per pull
 * round: the watcher reports an `rm -rf` of a big tree over several scans
 * (and a scan walks each changed dir on its own), and a peer can send its
 * deletions in many small index messages; only their sum over a minute shows
 * them for what they are, most of the folder going at once.
 *
 * The folder's size is the one before the oldest deletion still counted,
 * not the size now: creating files between deletions (a peer padding the
 * folder with junk as it deletes the real files) does not make room for more.
 * A path deleted and back again (a build recreating its outputs, a dir
 * renamed back) stops counting, so churn of the same paths never adds up to
 * a mass deletion, and deleting the same path twice counts once.
 */
import { deletionBudgetExceeded, type DeletionBudget } from './safety.js';

/** How long a deletion counts against the budget. */
export const DELETION_WINDOW_MS = 60_000;

/** Deletions of the last window, by path. */
export class DeletionWindow {
  /** Counted deletions by path, oldest first, each with when and the folder's live entries just before its batch. */
  private readonly counted = new Map<string, { atMs: number; liveBefore: number }>();

  constructor(private readonly windowMs = DELETION_WINDOW_MS) {}

  /** Deletions counted now. */
  count(nowMs: number): number {
    this.expire(nowMs);
    return this.counted.size;
  }

  /**
   * Why deleting `paths` as well, at `nowMs`, would exceed `budget`, or
   * undefined when they fit. `live` is the folder's live entries now (these
   * included), its size when nothing is counted.
   */
  judge(paths: readonly string[], live: number, nowMs: number, budget: DeletionBudget): string | undefined {
    this.expire(nowMs);
    const fresh = paths.filter((p) => !this.counted.has(p)).length;
    const oldest = this.counted.values().next();
    const folderSize = oldest.done === true ? live : oldest.value.liveBefore;
    return deletionBudgetExceeded(this.counted.size + fresh, folderSize, budget);
  }

  /** Counts `paths` as deleted at `nowMs`, with the folder at `live` entries just before them. */
  record(paths: readonly string[], live: number, nowMs: number): void {
    for (const p of paths) {
      // Re-inserted, so the map stays ordered by time.
      this.counted.delete(p);
      this.counted.set(p, { atMs: nowMs, liveBefore: live });
    }
  }

  /** `paths` exist again: their deletions no longer count. */
  forget(paths: Iterable<string>): void {
    for (const p of paths) this.counted.delete(p);
  }

  /** Forgets everything: the user confirmed what was held, so the budget starts again. */
  clear(): void {
    this.counted.clear();
  }

  private expire(nowMs: number): void {
    for (const [p, c] of this.counted) {
      if (nowMs - c.atMs < this.windowMs) break;
      this.counted.delete(p);
    }
  }
}
