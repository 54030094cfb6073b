/**
 * The deletion budget's memory: which local deletions are held back until
 * the user confirms them (`wizard resume`), how many went out in the last
 * minute, and whether the user has just confirmed. The rule itself is the
 * pure `deletionBudgetExceeded`.
 */
import type { Clock } from '../core/clock.js';
import type { Candidate } from './local-changes.js';
import { deletionBudgetExceeded, type DeletionBudget } from './safety.js';

/** Deletions held back, and why. */
export interface HeldDeletions {
  readonly count: number;
  readonly reason: string;
}

/** A deletion candidate: gone from disk, live in the index. */
function isDeletion(c: Candidate): boolean {
  return c.obs === undefined && c.prev !== undefined && !c.prev.deleted;
}

/** Window of the per-minute bound. */
const MINUTE_MS = 60_000;

/** Holds deletions past the budget until confirmed. */
export class DeletionGate {
  private heldNow: HeldDeletions | undefined;
  private recent: Array<[number, number]> = [];
  private confirmed = false;

  constructor(
    private readonly budget: () => DeletionBudget,
    private readonly clock: Clock,
  ) {}

  /** What is held now, if anything. */
  get held(): HeldDeletions | undefined {
    return this.heldNow;
  }

  /**
   * The candidates that may be recorded: all of them, or all but the
   * deletions when these would exceed the budget (then they are held, and
   * found again by every scan until the user confirms). `live` is the
   * folder's count of live entries. `onHeld` hears of a new or changed hold.
   */
  admit(candidates: Candidate[], live: number, onHeld: (held: HeldDeletions) => void): Candidate[] {
    const deletions = candidates.filter(isDeletion).length;
    if (deletions === 0) return candidates;
    const now = this.clock.now();
    this.recent = this.recent.filter(([at]) => now - at < MINUTE_MS);
    const recentCount = this.recent.reduce((sum, [, n]) => sum + n, 0);
    const reason = this.confirmed ? undefined : deletionBudgetExceeded(deletions, live, recentCount, this.budget());
    if (reason === undefined) {
      this.recent.push([now, deletions]);
      return candidates;
    }
    if (this.heldNow?.count !== deletions) onHeld({ count: deletions, reason });
    this.heldNow = { count: deletions, reason };
    return candidates.filter((c) => !isDeletion(c));
  }

  /** The user confirmed: the next full scan records held deletions whatever the budget says. Returns how many were held. */
  confirm(): number {
    this.confirmed = true;
    return this.heldNow?.count ?? 0;
  }

  /**
   * Wraps one scan: a full scan settles what is held (confirmed deletions go
   * through, others are held anew or are gone); a partial scan keeps the hold.
   */
  async during<T>(isFull: boolean, scan: () => Promise<T>): Promise<T> {
    const before = this.heldNow;
    if (isFull) this.heldNow = undefined;
    try {
      return await scan();
    } finally {
      if (isFull) this.confirmed = false;
      else this.heldNow ??= before;
    }
  }
}
