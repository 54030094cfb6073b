/**
 * The order of one folder's scans: they run one at a time, and the requests
 * that arrive while one runs are merged into a single follow-up, so a burst
 * of watcher events during a long scan costs one more pass, not one each.
 * Beside each queued path it keeps whether the scan may record deletions
 * under it (see `Folder.queueScan`).
 */

/** Scans `paths`, recording deletions only under `deletable`. */
export type ScanRun = (paths: string[], deletable: string[]) => Promise<void>;

/** The scans waiting to run, merged. */
export class ScanQueue {
  private scanning: Promise<void> = Promise.resolve();
  /** Paths waiting for the next scan, and that scan once scheduled. */
  private readonly scanQueue = new Set<string>();
  /** The queued paths under which the next scan may record deletions (see `Folder.queueScan`). */
  private readonly deletionQueue = new Set<string>();
  private nextScan: Promise<void> | undefined;

  constructor(private readonly run: ScanRun) {}

  /**
   * Adds `paths` to the next scan and resolves when it has run. Requests that
   * arrive while a scan runs are merged into one follow-up scan, so a burst
   * of watcher events during a long scan costs one more pass, not one each.
   */
  add(paths: string[], mayDelete = true): Promise<void> {
    for (const p of paths) this.scanQueue.add(p);
    if (mayDelete) for (const p of paths) this.deletionQueue.add(p);
    this.nextScan ??= this.scanning
      .catch(() => undefined)
      .then(() => {
        this.nextScan = undefined;
        const batch = [...this.scanQueue];
        const deletable = [...this.deletionQueue];
        this.scanQueue.clear();
        this.deletionQueue.clear();
        return this.run(batch, deletable);
      });
    this.scanning = this.nextScan;
    return this.nextScan;
  }

  /** Settles once the latest scan queued has ended, whether it succeeded or not. */
  settled(): Promise<void> {
    return this.scanning.catch(() => undefined);
  }
}
