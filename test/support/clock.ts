/**
 * A clock driven by hand, plus a monotonic counter that moves only with
 * `advance` (a wall-clock `jump` leaves it alone), for tests of time rules.
 */
import type { Clock } from '../../src/core/clock.js';

/** A Clock whose time moves only when the test says so. */
export class FakeClock implements Clock {
  private monoMs = 0;
  private timers: Array<{ at: number; fn: () => void }> = [];

  constructor(private wallMs: number) {}

  now(): number {
    return this.wallMs;
  }

  /** Milliseconds of real (monotonic) time that have passed. */
  monotonic(): number {
    return this.monoMs;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.monoMs + ms, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(ms, resolve));
  }

  /** How many timers are set and not yet fired or cancelled: none means no later `advance` can set anything off. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Lets `ms` pass on both clocks, firing due timers. */
  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
    const due = this.timers.filter((t) => t.at <= this.monoMs);
    this.timers = this.timers.filter((t) => t.at > this.monoMs);
    for (const t of due) t.fn();
  }

  /** Sets the wall clock forward or back by `ms` without real time passing (an NTP step, a user changing the date). */
  jump(ms: number): void {
    this.wallMs += ms;
  }
}
