/**
 * Buffers for the bodies of block answers, used again instead of allocated
 * anew for each 1 MiB block. A fresh Buffer per block is memory outside V8's
 * heap that it frees only when a collection finds the Buffer dead, and a
 * block lives across a request's round trip and its write, long enough to
 * outlive the young generation (kept at 1 MiB by the launcher,
 * bin/daemon-settings.js). So each 64 MiB or so of such buffers made V8 run a
 * full mark-compact: in a BIG run, 40-55 on each side (docs/BENCHMARKS.md,
 * "BIG since the afternoon").
 *
 * A buffer is lent by `take` and comes back only through `give`, from the one
 * part that knows it is done with it (a download, once the block is written
 * and hashed; a sender, once the block is framed, and once the socket has
 * written the frame); one that is never given back is collected as before. A buffer
 * is never lent twice at once: `give` takes back only what is lent now, and
 * each lent buffer only once. Free buffers are dropped when none has been
 * given back for IDLE_MS, so an idle node keeps none.
 */
import type { Clock } from './clock.js';

/** How long free buffers are kept after the last one came back. */
export const IDLE_MS = 10_000;

export class BlockBuffers {
  /** The memory of each buffer lent now. Weak: a buffer never given back is collected, as one not lent would be. */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private readonly free: Buffer[] = [];
  private cancelTrim: (() => void) | undefined;

  /**
   * Buffers of `size` bytes, for bodies of more than half that (a smaller one
   * would hold the rest idle); at most `maxFree` kept free.
   */
  constructor(
    readonly size: number,
    private readonly maxFree: number,
    private readonly clock: Pick<Clock, 'setTimer'>,
  ) {}

  /** A buffer of exactly `length` bytes, lent until `give`; undefined when `length` is not this pool's size. */
  take(length: number): Buffer | undefined {
    if (length > this.size || length * 2 <= this.size) return undefined;
    // allocUnsafeSlow: memory of its own (allocUnsafe may cut a small one from a shared slab), by which `give` knows it.
    const whole = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.lent.add(whole.buffer);
    return whole.subarray(0, length);
  }

  /**
   * Takes back the buffer `view` lies in, once its holder no longer reads or
   * writes any of it (nor any other view of it). Anything not lent now is left
   * alone, so a view of a socket's chunk, or a buffer given back twice, is ignored.
   */
  give(view: Uint8Array): void {
    if (!this.lent.delete(view.buffer)) return;
    if (this.free.length < this.maxFree) this.free.push(Buffer.from(view.buffer, 0, this.size));
    this.cancelTrim?.();
    this.cancelTrim = this.clock.setTimer(IDLE_MS, () => {
      this.cancelTrim = undefined;
      this.free.length = 0;
    });
  }

  /** Buffers kept free: for tests and status. */
  get freeCount(): number {
    return this.free.length;
  }
}
