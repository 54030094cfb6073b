/**
 * Gives the event loop its turn during long stretches of work that never
 * wait on I/O. A first index of many small files hashes each one on the main
 * thread (workers/hash-file.ts: a thread hop costs more than the hash) and
 * chains the next through promises that resolve at once, so without a real
 * yield no timer, socket or status request is served until the whole folder
 * is done: 8.5 s for 20,000 files, minutes for a million
 * (bench/probes/loop-gap.mjs). `due` says when `sliceMs` of work has passed
 * since the last yield, for a clock read; `turn` yields (setImmediate).
 */

/** Yields to the event loop every `sliceMs` of work. */
export class LoopYielder {
  private since = performance.now();

  constructor(private readonly sliceMs = 10) {}

  /** Whether the slice is used up: a caller that checks first awaits nothing (no promise) while it is not. */
  due(): boolean {
    return performance.now() - this.since >= this.sliceMs;
  }

  /** Gives the event loop a turn, and starts the next slice. */
  async turn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
