/**
 * What one scan found, fed to the recorder as the walk goes: changes in
 * bounded batches, each recorded while the walk goes on to the next, so a
 * scan of a million files never holds more than a batch or two of them;
 * deletions kept aside for the end, where the deletion budget weighs them
 * together and they are recorded after every new file (a move is both).
 * Its own module because bounding what a scan holds is a job of its own,
 * apart from deciding what changed (dir-changes.ts) and recording it.
 */
import type { Candidate } from './local-changes.js';
import type { ChangeRecorder } from './change-recorder.js';

/** Changes a scan hands to the recorder at once. */
export const SCAN_BATCH = 1_000;

/** The largest amounts a scan held at once (a seam for tests and probes). */
export interface ScanHeld {
  /** Observations of one walk step: one dir's children. */
  readonly step: number;
  /** Changes handed to the recorder in one batch. */
  readonly batch: number;
}

/** The committed paths of a scan: all of them when the caller needs them, else a count and the first few. */
export interface Committed {
  readonly count: number;
  readonly first: readonly string[];
  /** Every path, when kept (see ScanFeed). */
  readonly paths: readonly string[] | undefined;
}

/** One scan's changes on their way to the recorder. */
export class ScanFeed {
  /** Deletions found, in the order found: weighed and recorded at the end. */
  readonly deletions: Candidate[] = [];
  private pending: Candidate[] = [];
  private recording: Promise<void> = Promise.resolve();
  private failure: { err: unknown } | undefined;
  private count = 0;
  private readonly first: string[] = [];
  private readonly paths: string[] | undefined;
  private largest: { step: number; batch: number } = { step: 0, batch: 0 };

  constructor(
    private readonly recorder: Pick<ChangeRecorder, 'recordChanges'>,
    /** Hears the changes of each batch before it is recorded (paths back on disk, for the deletion budget). */
    private readonly onBatch: (batch: readonly Candidate[]) => void,
    /** Keep every committed path (a scan of a few paths hands them to the pull); a whole-folder scan keeps a count. */
    keepPaths: boolean,
    private readonly batchSize = SCAN_BATCH,
  ) {
    this.paths = keepPaths ? [] : undefined;
  }

  /** The largest step and batch held so far. */
  get held(): ScanHeld {
    return { ...this.largest };
  }

  /** Whether recording failed: the walk should stop, and `drained` throws it. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Notes the size of a walk step (its observations), for `held`. */
  sawStep(observations: number): void {
    this.largest.step = Math.max(this.largest.step, observations);
  }

  /**
   * Takes the changes of one walk step. Resolves once the batches before the
   * last one it started are recorded: the walk runs at most a batch ahead of
   * the recorder. Throws once recording failed (see `drained`).
   */
  async add(candidates: readonly Candidate[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure.err;
    let before: Promise<void> | undefined;
    for (const c of candidates) {
      if (c.obs === undefined) this.deletions.push(c);
      else this.pending.push(c);
      if (this.pending.length >= this.batchSize) before = this.startBatch();
    }
    if (before !== undefined) await before;
  }

  /** Records what is pending and waits for every batch; throws what a batch met. Returns the committed paths. */
  async drained(): Promise<Committed> {
    // Its end is awaited through `recording`, and it never rejects (see startBatch).
    if (this.pending.length > 0) void this.startBatch();
    await this.recording;
    if (this.failure !== undefined) throw this.failure.err;
    return { count: this.count, first: this.first, paths: this.paths };
  }

  /** Queues the pending changes behind the batch being recorded; returns that batch's end (errors caught, see `failure`). */
  private startBatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.largest.batch = Math.max(this.largest.batch, batch.length);
    const before = this.recording;
    this.recording = before.then(async () => {
      if (this.failure !== undefined) return;
      try {
        this.onBatch(batch);
        this.committed(await this.recorder.recordChanges(batch, []));
      } catch (err) {
        this.failure = { err };
      }
    });
    return before;
  }

  private committed(paths: readonly string[]): void {
    this.count += paths.length;
    for (const p of paths) {
      if (this.first.length < 5) this.first.push(p);
      this.paths?.push(p);
    }
  }
}
