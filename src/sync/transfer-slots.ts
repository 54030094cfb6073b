/**
 * The node's transfer slots: at most `limits.transfers` file downloads run at
 * once, across every folder and peer. The limit is read whenever a slot
 * frees or a download asks for one, so a config change applies to the next
 * start (running downloads are never cut short by it).
 *
 * Small files have their own queue and go first, and when more than one slot
 * is allowed the last one is kept for them: however many big files are
 * queued, a new small file waits for at most a small file's transfer, never
 * for a gigabyte.
 */

/** Files up to this size count as small. */
export const SMALL_TRANSFER_BYTES = 256 * 1024;

interface Waiter {
  readonly small: boolean;
  readonly start: () => void;
}

/** The node-wide limit on concurrent downloads. */
export class TransferSlots {
  private readonly smallQueue: Waiter[] = [];
  private readonly bigQueue: Waiter[] = [];
  private activeSmall = 0;
  private activeBig = 0;
  private highWater = 0;

  constructor(private readonly limit: () => number) {}

  /** Downloads running now. */
  get active(): number {
    return this.activeSmall + this.activeBig;
  }

  /** Downloads waiting for a slot. */
  get queued(): number {
    return this.smallQueue.length + this.bigQueue.length;
  }

  /** Most downloads that ever ran at once (for tests and status). */
  get mostActive(): number {
    return this.highWater;
  }

  /**
   * Runs `fn` in a slot once one is free; `bytes` (the file's size) picks the
   * queue. The slot is freed when `fn` settles or calls `release`, whichever
   * is first: a download whose bytes are all here releases it before its
   * local work (fsync, rename, commit), which is not a transfer. An aborted
   * `signal` takes a waiting download out of the queue and rejects with the
   * signal's reason; a running one is left to `fn`.
   */
  run<T>(bytes: number, fn: (release: () => void) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const small = bytes <= SMALL_TRANSFER_BYTES;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const queue = small ? this.smallQueue : this.bigQueue;
        const at = queue.indexOf(waiter);
        if (at >= 0) queue.splice(at, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('transfer aborted'));
      };
      const waiter: Waiter = {
        small,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          this.take(small);
          let held = true;
          const release = (): void => {
            if (!held) return;
            held = false;
            this.release(small);
          };
          // Through a promise so that a synchronous throw still frees the slot.
          void Promise.resolve()
            .then(() => fn(release))
            .then(resolve, reject)
            .finally(release);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      (small ? this.smallQueue : this.bigQueue).push(waiter);
      this.pump();
    });
  }

  /** Starts whatever the current limit allows; call after the limit was raised. */
  pump(): void {
    for (;;) {
      const limit = Math.max(1, this.limit());
      if (this.active >= limit) return;
      const next = this.smallQueue[0] ?? (this.activeBig < Math.max(1, limit - 1) ? this.bigQueue[0] : undefined);
      if (next === undefined) return;
      (next.small ? this.smallQueue : this.bigQueue).shift();
      next.start();
    }
  }

  private take(small: boolean): void {
    if (small) this.activeSmall++;
    else this.activeBig++;
    this.highWater = Math.max(this.highWater, this.active);
  }

  private release(small: boolean): void {
    if (small) this.activeSmall--;
    else this.activeBig--;
    this.pump();
  }
}
