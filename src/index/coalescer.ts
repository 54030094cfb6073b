/**
 * Coalesces a folder's change events per path, in two hand-overs:
 *
 * - **early:** a path quiet for `debounceMs` is handed over at once, even
 *   while other paths keep changing, so a small file saved beside a big one
 *   being written (a copy, a build) does not wait for the big one to end;
 * - **settled:** once the whole folder has been quiet for `debounceMs`, or
 *   `maxDelayMs` after the first event since the last settled hand-over,
 *   every path that changed since then is handed over again, together.
 *
 * Why two: an early hand-over only sees part of what is going on. A path
 * gone from disk may be one half of a rename whose other half is still in
 * flight, or one file of an `rm -rf` still running, so its owner must not
 * act on disappearances from an early hand-over. The settled one is the
 * whole picture (as far as a quiet folder can tell): a rename arrives as a
 * pair and a mass deletion as one batch the deletion budget can weigh.
 * A path that keeps changing is never quiet, and rides along with the
 * settled hand-over forced by `maxDelayMs`.
 */
import type { Clock } from '../core/clock.js';

/** What the coalescer tells its owner. */
export interface CoalescerDeps {
  /** Timers. */
  readonly clock: Clock;
  /** Milliseconds of elapsed real time: a wall-clock step must not stall or rush a hand-over. */
  readonly monotonicMs: () => number;
  /** Current quiet window (hot-reloadable, so read on every use). */
  readonly debounceMs: () => number;
  /** Longest a changed path waits for the folder to settle. */
  readonly maxDelayMs: number;
  /** `settled` false: some paths went quiet while others still change (see above). */
  readonly onChanges: (paths: string[], settled: boolean) => void;
}

/** Per-path and per-folder change coalescing, on an injected clock. */
export class ChangeCoalescer {
  /** Paths not yet handed over, by the time of their last event, oldest first. */
  private readonly unsent = new Map<string, number>();
  /** Every path with an event since the last settled hand-over. */
  private readonly sinceSettled = new Set<string>();
  private firstEventAt = 0;
  private lastEventAt = 0;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: CoalescerDeps) {}

  /** Paths that had an event now. */
  add(paths: readonly string[]): void {
    if (paths.length === 0) return;
    const now = this.now();
    if (this.sinceSettled.size === 0) this.firstEventAt = now;
    this.lastEventAt = now;
    for (const p of paths) {
      // Re-inserting keeps the map ordered by last event.
      this.unsent.delete(p);
      this.unsent.set(p, now);
      this.sinceSettled.add(p);
    }
    this.schedule();
  }

  /**
   * Paths that had an event and are known complete now (moved into place,
   * see moves.ts): handed over at once instead of after the quiet window.
   * They stay in the folder's settled hand-over, which looks at them again.
   */
  handOverNow(paths: readonly string[]): void {
    const now = paths.filter((p) => this.unsent.delete(p));
    if (now.length === 0) return;
    this.schedule();
    this.deps.onChanges(now, false);
  }

  /** Drops everything pending. */
  clear(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.unsent.clear();
    this.sinceSettled.clear();
  }

  /** How many paths wait for a hand-over of either kind. */
  get pending(): number {
    return this.sinceSettled.size;
  }

  private now(): number {
    return this.deps.monotonicMs();
  }

  private settlesAt(): number {
    return Math.min(this.lastEventAt + this.deps.debounceMs(), this.firstEventAt + this.deps.maxDelayMs);
  }

  private schedule(): void {
    if (this.sinceSettled.size === 0) return;
    const oldest = this.unsent.values().next();
    const earlyAt = oldest.done === true ? Number.POSITIVE_INFINITY : oldest.value + this.deps.debounceMs();
    const at = Math.min(this.settlesAt(), earlyAt);
    // Events keep coming in a burst; re-arming the timer only when its time moves keeps that cheap.
    if (at === this.timerAt && this.cancelTimer !== undefined) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.deps.clock.setTimer(Math.max(0, at - this.now()), () => this.fire());
  }

  private fire(): void {
    this.cancelTimer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    if (now >= this.settlesAt()) {
      const paths = [...this.sinceSettled];
      this.unsent.clear();
      this.sinceSettled.clear();
      this.deps.onChanges(paths, true);
      return;
    }
    const quiet: string[] = [];
    const cutoff = now - this.deps.debounceMs();
    for (const [p, at] of this.unsent) {
      if (at > cutoff) break;
      quiet.push(p);
    }
    for (const p of quiet) this.unsent.delete(p);
    this.schedule();
    if (quiet.length > 0) this.deps.onChanges(quiet, false);
  }
}
