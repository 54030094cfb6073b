/**
 * A token bucket for the bandwidth limits: bytes per second, shared by every
 * connection in one direction. A frame is never split to fit the bucket: it
 * takes its bytes even when that overdraws the balance, and the next one
 * waits until the debt is paid. So the long-run rate holds exactly, whatever
 * the frame sizes, and a lone small frame on an idle link goes at once.
 */

/** Seconds of unused rate the bucket saves up: a short burst after idling, not a flood. */
const BURST_SECONDS = 0.1;

export class TokenBucket {
  private balance = 0;
  /** When the balance was last brought up to date; undefined before the first use. */
  private lastMs: number | undefined;
  private lastRate = 0;

  /**
   * `rate` is read on every use, so a config reload applies at once; 0 means
   * unlimited. `now` is a clock in milliseconds; a step back counts as no time passing.
   */
  constructor(
    private readonly rate: () => number,
    private readonly now: () => number,
  ) {}

  /** Bytes per second in force, 0 for unlimited. */
  get bytesPerSecond(): number {
    return this.rate();
  }

  /** Spends `bytes`; the balance may go negative. */
  take(bytes: number): void {
    if (this.refill() === 0) return;
    this.balance -= bytes;
  }

  /** Milliseconds until the balance is back to zero or more: how long the next frame must wait. */
  waitMs(): number {
    const rate = this.refill();
    if (rate === 0 || this.balance >= 0) return 0;
    return Math.ceil((-this.balance / rate) * 1000);
  }

  private refill(): number {
    const rate = this.rate();
    const now = this.now();
    if (rate !== this.lastRate || this.lastMs === undefined) {
      // A new limit starts clean: neither the old debt nor the old savings carry over.
      this.balance = 0;
      this.lastRate = rate;
    } else if (rate > 0) {
      this.balance = Math.min(rate * BURST_SECONDS, this.balance + (Math.max(0, now - this.lastMs) / 1000) * rate);
    }
    this.lastMs = now;
    return rate;
  }
}
