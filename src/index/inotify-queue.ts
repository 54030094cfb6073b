/**
 * Notices when the kernel's inotify event queue overflowed. libuv reads every
 * fs.watch event of the process from one inotify instance, and it drops the
 * IN_Q_OVERFLOW event unseen (its watch descriptor is -1, which matches no
 * watcher), so an overflow is silent: events are lost and nobody is told.
 * What can be seen: a full queue is read out in one go, so at least
 * `max_queued_events` events arrive within one turn of the event loop. That
 * is taken as an overflow, and every tree watch is told (the queue is the
 * whole process's). A burst that big without an overflow costs a needless
 * full rescan, nothing worse.
 */
import { readFileSync } from 'node:fs';

/** The kernel's default `fs.inotify.max_queued_events`. */
const DEFAULT_QUEUE_LIMIT = 16_384;

/** Counts the events of one loop turn and calls the listeners when they reach the queue's limit. */
export class InotifyQueue {
  private count = 0;
  private counting = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly limit: number) {}

  /** One event arrived. */
  note(): void {
    this.count++;
    if (this.counting) return;
    this.counting = true;
    // Runs after the poll phase that delivered this event and every other one read with it.
    setImmediate(() => {
      const n = this.count;
      this.count = 0;
      this.counting = false;
      if (n >= this.limit) for (const fn of [...this.listeners]) fn();
    });
  }

  /** Calls `fn` on each overflow until the returned function is called. */
  onOverflow(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/** `fs.inotify.max_queued_events`, or the kernel's default where it cannot be read. */
export function queueLimit(): number {
  try {
    const n = Number.parseInt(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'), 10);
    return Number.isFinite(n) && n > 0 ? n : DEFAULT_QUEUE_LIMIT;
  } catch {
    return DEFAULT_QUEUE_LIMIT;
  }
}

let shared: InotifyQueue | undefined;

/** The process's one inotify queue (libuv opens one inotify instance per process). */
export function processInotifyQueue(): InotifyQueue {
  shared ??= new InotifyQueue(queueLimit());
  return shared;
}
