/**
 * Wall-clock times that a step of the clock (NTP, a user changing the date)
 * cannot turn against us while the daemon runs. Two readings, each safe for
 * one use: stamping when something happened, and judging whether enough time
 * has passed since. Within one run, `notAfter() - a notBefore() read earlier`
 * never exceeds the real time elapsed between the two readings, whatever the
 * wall clock did in between, so an age computed from them is never overstated.
 */
import type { Clock } from './clock.js';

/** Steady readings of one wall clock against one monotonic clock, from one start. */
export class SteadyTime {
  private readonly baseWallMs: number;
  private readonly baseMonoMs: number;

  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    /** Milliseconds from a clock that never jumps (performance.now in the daemon). */
    private readonly monotonicMs: () => number,
  ) {
    this.baseWallMs = clock.now();
    this.baseMonoMs = monotonicMs();
  }

  /** The wall clock's time at start plus the real time elapsed since. */
  private elapsedNow(): number {
    return this.baseWallMs + (this.monotonicMs() - this.baseMonoMs);
  }

  /**
   * For "has enough time passed" (a purge): the wall clock, but never ahead of
   * the time actually elapsed since start, so setting the date ahead purges nothing early.
   */
  notAfter(): number {
    return Math.min(this.clock.now(), this.elapsedNow());
  }

  /**
   * For stamping when something happened (a trash entry): the wall clock, but
   * never behind the time actually elapsed since start, so a stamp taken while
   * the date was set back does not make the entry look older once it is set right.
   */
  notBefore(): number {
    return Math.max(this.clock.now(), this.elapsedNow());
  }
}
