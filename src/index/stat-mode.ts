/**
 * Whether a walk stats a batch of paths synchronously or through libuv's
 * pool: its own module because it is a decision (from how long the last
 * synchronous batch took), apart from the walk's I/O.
 */
/**
 * A walk's lstats of a batch run synchronously while the inodes are in the
 * kernel's cache: there a synchronous lstat costs the main thread about 4 us
 * against 14 (callback) and 20 (fs/promises) for one through libuv's pool,
 * and a rescan of 100,000 unchanged files is little else
 * (bench/probes/rescan-prof.sh). A batch that held the event loop longer
 * than this went to the disk (64 lstats from the cache take well under a
 * millisecond; a busy machine's preemption adds a few): the next
 * COLD_BATCHES batches go through the pool, so a cold tree on a slow disk
 * never holds the event loop for its reads, then the cache is tried again.
 */
const WARM_BATCH_US = 20_000;
const COLD_BATCHES = 16;

/** Whether a walk stats synchronously now (see WARM_STAT_US); one per walk. */
export class StatMode {
  private coldLeft = 0;

  /** Whether the next batch is stated synchronously. */
  get warm(): boolean {
    return this.coldLeft === 0;
  }

  /** A synchronous batch took `us` microseconds. */
  tookSync(us: number): void {
    if (us > WARM_BATCH_US) this.coldLeft = COLD_BATCHES;
  }

  /** A batch went through the pool. */
  tookAsync(): void {
    if (this.coldLeft > 0) this.coldLeft--;
  }
}
