/**
 * How many of our requests may wait for answers on one link at once. A
 * responder closes a link with more of the peer's requests in flight than it
 * serves (256, PROTOCOL.md section 8) as a protocol violation, and penalises
 * the peer for minutes; with many transfer slots our downloads together could
 * ask for more than that, so requests past the window wait here for a slot,
 * in order, before they are sent.
 */

/** Requests a requester keeps in flight on one link: half of what a responder allows. */
export const MAX_ASKED_IN_FLIGHT = 128;

/** A counting gate for requests in flight, with a FIFO of those waiting. */
export class AskWindow {
  private inFlight = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private failure: Error | undefined;

  constructor(private readonly limit = MAX_ASKED_IN_FLIGHT) {}

  /** Requests in flight now. */
  get size(): number {
    return this.inFlight;
  }

  /** Resolves once a request may be sent (the caller must `release` it when it is answered or given up). Rejects after `close`. */
  acquire(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.inFlight < this.limit) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** A request left flight: the longest-waiting one may go. */
  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next.resolve();
    else this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** The link ended: every waiting request fails with `err`, and so does every later one. */
  close(err: Error): void {
    this.failure = err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
