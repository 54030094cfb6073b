/**
 * The deletion budget's memory of the last minute: which paths were deleted
 * (local deletions recorded, peers' deletions applied). Pure: the caller
 * passes the time.
 *
 * The budget is judged over this sliding window, not per scan or per pull
 * round: the watcher reports an `rm -rf` of a big tree over several scans
 * (and a scan walks each changed dir on its own), and a peer can send its
 * deletions in many small index messages; only their sum over a minute shows
 * them for what they are, most of the folder going at once.
 *
 * They are weighed against the folder as it would be had none of them
 * happened: its live entries now plus the deletions counted, that is its
 * size when the window began plus what was created since. That stays put
 * while an `rm -rf` or a peer's deletions go on, and grows with a folder in
 * ordinary use, whose churn (files created and deleted again within the
 * minute) is then not taken for most of it vanishing. A percentage cannot
 * stop a peer that first pads the folder with junk and then deletes the real
 * files, whatever size it is taken against; `perMinute` bounds that.
 *
 * A path deleted and back again (a build recreating its outputs, a dir
 * renamed back) stops counting, and a path deleted twice counts once.
 */
import { deletionBudgetExceeded, type DeletionBudget } from './safety.js';

/** How long a deletion counts against the budget. */
export const DELETION_WINDOW_MS = 60_000;

/** Deletions of the last window, by path. */
export class DeletionWindow {
  /** When each counted path was deleted, oldest first. */
  private readonly counted = new Map<string, number>();

  constructor(private readonly windowMs = DELETION_WINDOW_MS) {}

  /** Deletions counted now. */
  count(nowMs: number): number {
    this.expire(nowMs);
    return this.counted.size;
  }

  /**
   * Why deleting `paths` as well, at `nowMs`, would exceed `budget`, or
   * undefined when they fit. `live` is the folder's live entries now (these
   * included).
   */
  judge(paths: readonly string[], live: number, nowMs: number, budget: DeletionBudget): string | undefined {
    this.expire(nowMs);
    const fresh = paths.filter((p) => !this.counted.has(p)).length;
    return deletionBudgetExceeded(this.counted.size + fresh, fresh, live + this.counted.size, budget);
  }

  /** Counts `paths` as deleted at `nowMs`. */
  record(paths: readonly string[], nowMs: number): void {
    for (const p of paths) {
      // Re-inserted, so the map stays ordered by time.
      this.counted.delete(p);
      this.counted.set(p, nowMs);
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
    for (const [p, atMs] of this.counted) {
      if (nowMs - atMs < this.windowMs) break;
      this.counted.delete(p);
    }
  }
}
