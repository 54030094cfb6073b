/**
 * Which paths failed to sync, and when each may be tried again: exponential
 * backoff per path, so one broken file neither stalls the rest nor spins.
 */
import { describeError } from '../../core/errors.js';

/** Longest wait between two tries of one path. */
const MAX_RETRY_MS = 60_000;

/** Failures per path. */
export class RetryBook {
  private readonly failures = new Map<string, { attempts: number; failedAt: number; nextAt: number; error: string }>();

  /** Records a failure at `now`; returns how long to wait before the next try. */
  fail(path: string, err: unknown, now: number, baseMs = 1000): number {
    const attempts = (this.failures.get(path)?.attempts ?? 0) + 1;
    const delay = Math.min(MAX_RETRY_MS, baseMs * 2 ** (attempts - 1));
    this.failures.set(path, { attempts, failedAt: now, nextAt: now + delay, error: describeError(err) });
    return delay;
  }

  /**
   * The retry timer set at failure number `attempts` fired: the wait is over,
   * whatever the wall clock says. A timer runs on the monotonic clock in
   * whole milliseconds and may fire up to one before `Date.now()` reaches
   * `nextAt` (4 times in 1,000 timers here); the path, still waiting by the
   * wall clock then, was passed over with no timer left to try it again. A
   * later failure's wait is not ended by an earlier failure's timer.
   */
  due(path: string, attempts: number): void {
    const f = this.failures.get(path);
    if (f !== undefined && f.attempts === attempts) f.nextAt = f.failedAt;
  }

  /** The path synced: forget its failures. */
  succeed(path: string): void {
    this.failures.delete(path);
  }

  /**
   * True while the path is in its backoff. A `now` before the failure means
   * the clock was set back since: the wait counts as over (one early try
   * costs little), where comparing with `nextAt` alone would hold the path
   * back for as long as the clock was set back (a day back: a day unsynced).
   */
  isWaiting(path: string, now: number): boolean {
    const f = this.failures.get(path);
    return f !== undefined && now >= f.failedAt && now < f.nextAt;
  }

  /** Tries so far for a path. */
  attempts(path: string): number {
    return this.failures.get(path)?.attempts ?? 0;
  }

  /** The failure record of a path, for `status --why`; undefined when it has not failed. */
  state(path: string): { attempts: number; nextAt: number; error: string } | undefined {
    const f = this.failures.get(path);
    return f === undefined ? undefined : { attempts: f.attempts, nextAt: f.nextAt, error: f.error };
  }

  /** One line per failing path. */
  describe(): string[] {
    return [...this.failures.entries()].map(([p, f]) => `${p}: ${f.error}`);
  }
}
