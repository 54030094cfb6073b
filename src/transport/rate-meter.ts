/**
 * Bytes per second over the last few seconds, for status: one counter per
 * second in a small ring, so a rate costs nothing to keep and forgets a burst
 * once it is WINDOW_S old.
 */

/** Seconds the rate is averaged over. */
const WINDOW_S = 3;

export class RateMeter {
  /** Bytes per whole second, keyed by the second (ms / 1000, floored); at most WINDOW_S + 1 entries. */
  private readonly seconds = new Map<number, number>();

  constructor(private readonly now: () => number) {}

  add(bytes: number): void {
    const second = Math.floor(this.now() / 1000);
    this.seconds.set(second, (this.seconds.get(second) ?? 0) + bytes);
    for (const s of this.seconds.keys()) if (s < second - WINDOW_S) this.seconds.delete(s);
  }

  /** Average over the last WINDOW_S whole seconds plus the current partial one. */
  perSecond(): number {
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    let total = 0;
    for (const [s, bytes] of this.seconds) if (s >= second - WINDOW_S) total += bytes;
    const spanS = WINDOW_S + (nowMs - second * 1000) / 1000;
    return Math.round(total / spanS);
  }
}
