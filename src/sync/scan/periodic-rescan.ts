/**
 * A folder's housekeeping on a timer: every rescan interval it forgets the
 * deletions older than `tombstoneDays` and queues a scan of the whole folder.
 * Apart from the folder because it is a loop of its own, driven by the clock
 * rather than by the disk or the peers, and it outlives a halt: it is
 * scheduled once, by the first start, and ends only when the folder stops.
 */
import type { Mutex } from '../../core/mutex.js';
import { isIndexWriteFailure } from '../../index/store.js';
import { expiredTombstones } from './local-changes.js';
import type { FolderControl } from '../folder-control.js';
import type { FolderDeps } from '../folder-deps.js';

/** What the periodic rescan needs. */
export interface PeriodicRescanDeps
  extends Pick<FolderDeps, 'id' | 'store' | 'clock' | 'log' | 'rescanIntervalMs' | 'tombstoneDays'>,
    Pick<FolderControl, 'after' | 'queueScan' | 'indexWriteFailed'> {
  /** The folder's commit lock: tombstones are forgotten between commits, not during one. */
  readonly lock: Mutex;
}

/** A folder's periodic rescan and tombstone expiry. */
export class PeriodicRescan {
  /** The periodic rescan is scheduled (it outlives a halt). */
  private started = false;

  constructor(private readonly deps: PeriodicRescanDeps) {}

  /** Schedules the periodic rescan, unless an earlier start did. */
  start(): void {
    if (!this.started) this.schedulePeriodicRescan();
    this.started = true;
  }

  private schedulePeriodicRescan(): void {
    this.deps.after(this.deps.rescanIntervalMs(), () => {
      this.expireTombstones().catch((err: unknown) => {
        if (isIndexWriteFailure(err)) this.deps.indexWriteFailed(err);
        else this.deps.log.error({ err }, 'tombstone expiry failed');
      });
      this.deps.queueScan(['']);
      this.schedulePeriodicRescan();
    });
  }

  /** Forgets deletions older than `tombstoneDays` (see expiredTombstones for what that means for a returning peer). */
  private async expireTombstones(): Promise<void> {
    const { store, id } = this.deps;
    await this.deps.lock.run(() => {
      // Only the tombstones: a pass over every entry would hold the whole index in memory at each interval.
      const expired = expiredTombstones(store.reads.tombstones(id), this.deps.clock.now(), this.deps.tombstoneDays());
      if (expired.length === 0) return;
      store.forgetLocal(id, expired);
      this.deps.log.info({ count: expired.length }, 'forgot expired deletions');
    });
  }
}
