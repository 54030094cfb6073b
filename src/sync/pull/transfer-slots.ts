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
 *
 * Files of at most SHARED_SLOT_BYTES share slots, up to SHARED_SLOT_FILES of
 * them (and SHARED_SLOT_TOTAL_BYTES) to a slot: such a file costs a round
 * trip and a few file-system calls on each side, not bandwidth, so one per slot
 * would leave a burst of thousands waiting on latency while the link idles.
 * The limit still bounds what the user cares about: bytes in flight, open
 * files, and work at once (a full shared slot is a few hundred kilobytes).
 */

/** Files up to this size count as small. */
export const SMALL_TRANSFER_BYTES = 256 * 1024;
/** Files up to this size may share a slot: a burst of them costs round trips, not bandwidth. */
export const SHARED_SLOT_BYTES = 64 * 1024;
/** Most files that ever share one slot, and most bytes between them. */
export const SHARED_SLOT_FILES = 16;
export const SHARED_SLOT_TOTAL_BYTES = 1024 * 1024;

interface Waiter {
  readonly small: boolean;
  /** Small enough to share a slot (see SHARED_SLOT_BYTES). */
  readonly shares: boolean;
  readonly bytes: number;
  readonly start: (group: SharedSlot | undefined) => void;
}

/** One slot shared by up to SHARED_SLOT_FILES small files; freed when the last of them is. */
interface SharedSlot {
  files: number;
  bytes: number;
  running: number;
}

/** The node-wide limit on concurrent downloads. */
export class TransferSlots {
  private readonly smallQueue: Waiter[] = [];
  private readonly bigQueue: Waiter[] = [];
  private activeSmall = 0;
  private activeBig = 0;
  private highWater = 0;
  private runningFiles = 0;
  /** The shared slot new small files join while it has room; undefined when none has. */
  private joinable: SharedSlot | undefined;
  /**
   * What to do for each waiting download when its signal aborts. One listener per signal, not one per
   * download: a burst queues thousands on a folder's one signal, and each add and remove of a
   * listener walks the signal's whole list.
   */
  private readonly onAbort = new Map<AbortSignal, Set<() => void>>();

  constructor(private readonly limit: () => number) {}

  /** Slots in use now. */
  get active(): number {
    return this.activeSmall + this.activeBig;
  }

  /** Files downloading now (more than `active` when small files share slots). */
  get activeFiles(): number {
    return this.runningFiles;
  }

  /** Downloads waiting for a slot. */
  get queued(): number {
    return this.smallQueue.length + this.bigQueue.length;
  }

  /** Most slots ever in use at once (for tests and status). */
  get mostActive(): number {
    return this.highWater;
  }

  /**
   * Runs `fn` in a slot once one is free; `bytes` (the file's size) picks the
   * queue, and a file of at most SHARED_SLOT_BYTES may join a slot other
   * small files hold. The file's share is freed when `fn` settles or calls `release`, whichever
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
        shares: bytes <= SHARED_SLOT_BYTES,
        bytes,
        start: (group) => {
          if (signal !== undefined) this.unlisten(signal, onAbort);
          this.runningFiles++;
          let held = true;
          const release = (): void => {
            if (!held) return;
            held = false;
            this.runningFiles--;
            this.release(small, group);
          };
          // Through a promise so that a synchronous throw still frees the slot.
          void Promise.resolve()
            .then(() => fn(release))
            .then(resolve, reject)
            .finally(release);
        },
      };
      if (signal !== undefined) this.listen(signal, onAbort);
      (small ? this.smallQueue : this.bigQueue).push(waiter);
      this.pump();
    });
  }

  /** Starts whatever the current limit allows; call after the limit was raised. */
  pump(): void {
    for (;;) {
      const head = this.smallQueue[0];
      // Joining a shared slot takes no new one.
      if (head?.shares === true && this.joinable !== undefined && this.fits(this.joinable, head.bytes)) {
        this.smallQueue.shift();
        this.join(this.joinable, head);
        continue;
      }
      const limit = Math.max(1, this.limit());
      if (this.active >= limit) return;
      const next = head ?? (this.activeBig < Math.max(1, limit - 1) ? this.bigQueue[0] : undefined);
      if (next === undefined) return;
      (next.small ? this.smallQueue : this.bigQueue).shift();
      this.take(next.small);
      if (next.shares) {
        this.joinable = { files: 0, bytes: 0, running: 0 };
        this.join(this.joinable, next);
      } else {
        next.start(undefined);
      }
    }
  }

  private listen(signal: AbortSignal, onAbort: () => void): void {
    let waiting = this.onAbort.get(signal);
    if (waiting === undefined) {
      const all = new Set<() => void>();
      waiting = all;
      this.onAbort.set(signal, all);
      signal.addEventListener(
        'abort',
        () => {
          this.onAbort.delete(signal);
          for (const abort of all) abort();
        },
        { once: true },
      );
    }
    waiting.add(onAbort);
  }

  /** The download started: its signal no longer concerns the queue. The signal's listener stays, cheap, for the next download. */
  private unlisten(signal: AbortSignal, onAbort: () => void): void {
    this.onAbort.get(signal)?.delete(onAbort);
  }

  private fits(group: SharedSlot, bytes: number): boolean {
    return group.files < SHARED_SLOT_FILES && group.bytes + bytes <= SHARED_SLOT_TOTAL_BYTES;
  }

  private join(group: SharedSlot, waiter: Waiter): void {
    group.files++;
    group.bytes += waiter.bytes;
    group.running++;
    // Full: the next small file opens a slot of its own.
    if (this.joinable === group && !this.fits(group, 1)) this.joinable = undefined;
    waiter.start(group);
  }

  private take(small: boolean): void {
    if (small) this.activeSmall++;
    else this.activeBig++;
    this.highWater = Math.max(this.highWater, this.active);
  }

  private release(small: boolean, group: SharedSlot | undefined): void {
    if (group !== undefined) {
      group.running--;
      if (group.running > 0) return;
      // Empty: its slot is freed, and nothing joins it any more.
      if (this.joinable === group) this.joinable = undefined;
    }
    if (small) this.activeSmall--;
    else this.activeBig--;
    this.pump();
  }
}
