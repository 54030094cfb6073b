/**
 * Gathers the disk work of many small pulls into worker jobs (workers/
 * disk-jobs.ts says why): the temp files of small files whose bytes are here
 * and verified, and the fsyncs of the dirs a landing batch renamed into.
 * Whatever is asked for before the event loop's next turn goes together, in
 * jobs of at most MAX_FILES files (MAX_BYTES) or MAX_DIRS dirs, which the
 * pool runs on its `hashers` threads.
 *
 * Fewer than MIN_BATCH at once are not worth a worker (a thread that ended
 * when idle takes tens of milliseconds to start, and a lone saved file should
 * land in the time it always did): the caller does those itself, as before.
 */
import { WizardError, type ErrorCode } from '../../core/errors.js';
import type { DiskJobFailure, TempFileJob, TempFileStat } from '../../workers/disk-jobs.js';
import type { JobRunner } from '../../workers/pool.js';

/** Fewest items gathered at once that go to a worker; fewer are left to the caller. */
export const MIN_BATCH = 4;
/** Most temp files in one job, and most bytes between them: a job holds its thread for a few fsyncs, not for long. */
export const MAX_FILES = 32;
export const MAX_BYTES = 2 * 1024 * 1024;
/** Most dirs fsynced by one job. */
export const MAX_DIRS = 32;

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

/** The small pulls' disk work of one folder, batched into worker jobs. */
export class DiskBatches {
  private temps: Array<Waiting<{ root: string; job: TempFileJob }, TempFileStat | undefined>> = [];
  private dirs: Array<Waiting<string, boolean>> = [];
  private flushDue = false;

  /** `defer` runs the flush after what is queued now has had its turn (setImmediate; a test may flush by hand). */
  constructor(
    private readonly runner: JobRunner,
    private readonly defer: (flush: () => void) => void = (flush) => void setImmediate(flush),
  ) {}

  /**
   * Makes the temp file `job.file` in `root`'s `.wizard/tmp` with the job's
   * bytes, mode and mtime, fsynced, and resolves with its fstat; undefined
   * when too few came together to batch (the caller writes it itself). A
   * failure rejects with the errno code (ENOSPC, EEXIST) or Wizard's own.
   */
  writeTemp(root: string, job: TempFileJob): Promise<TempFileStat | undefined> {
    return new Promise((resolve, reject) => {
      this.temps.push({ item: { root, job }, resolve, reject });
      this.schedule();
    });
  }

  /** fsyncs `dir`; false when too few came together to batch (the caller fsyncs it itself). */
  syncDir(dir: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.dirs.push({ item: dir, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    this.defer(() => this.flush());
  }

  /** Sends what is queued to the workers (or back to the callers, when too few). */
  flush(): void {
    this.flushDue = false;
    const temps = this.temps.splice(0);
    const dirs = this.dirs.splice(0);
    if (temps.length < MIN_BATCH) for (const t of temps) t.resolve(undefined);
    else for (const chunk of tempChunks(temps)) void this.runTemps(chunk);
    if (dirs.length < MIN_BATCH) for (const d of dirs) d.resolve(false);
    else for (let i = 0; i < dirs.length; i += MAX_DIRS) void this.runDirs(dirs.slice(i, i + MAX_DIRS));
  }

  private async runTemps(chunk: ReadonlyArray<Waiting<{ root: string; job: TempFileJob }, TempFileStat | undefined>>): Promise<void> {
    const root = (chunk[0] as (typeof chunk)[number]).item.root;
    try {
      const results = await this.runner.run('write-temps', { root, files: chunk.map((w) => w.item.job) });
      chunk.forEach((w, i) => {
        const r = results[i];
        if (r === undefined) w.reject(new WizardError('INTERNAL', `temp file job returned ${results.length} results for ${chunk.length} files`));
        else if (r.ok) w.resolve(r.stat);
        else w.reject(errorOf(r.failure));
      });
    } catch (err) {
      for (const w of chunk) w.reject(err);
    }
  }

  private async runDirs(chunk: ReadonlyArray<Waiting<string, boolean>>): Promise<void> {
    try {
      const failures = await this.runner.run('fsync-dirs', { dirs: chunk.map((w) => w.item) });
      chunk.forEach((w, i) => {
        const failure = failures[i];
        if (failure === undefined || failure === null) w.resolve(true);
        else w.reject(errorOf(failure));
      });
    } catch (err) {
      for (const w of chunk) w.reject(err);
    }
  }
}

/** Splits waiting temp files into jobs of one folder each, at most MAX_FILES and MAX_BYTES (a bigger file goes alone). */
function tempChunks<W extends { item: { root: string; job: TempFileJob } }>(all: readonly W[]): W[][] {
  const byRoot = new Map<string, W[]>();
  for (const w of all) {
    const list = byRoot.get(w.item.root);
    if (list === undefined) byRoot.set(w.item.root, [w]);
    else list.push(w);
  }
  const chunks: W[][] = [];
  for (const list of byRoot.values()) {
    let chunk: W[] = [];
    let bytes = 0;
    for (const w of list) {
      const size = w.item.job.data.byteLength;
      if (chunk.length > 0 && (chunk.length >= MAX_FILES || bytes + size > MAX_BYTES)) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(w);
      bytes += size;
    }
    if (chunk.length > 0) chunks.push(chunk);
  }
  return chunks;
}

/** A worker's failure as an error here: an errno code stays an errno error (isNoSpace reads it), anything else is Wizard's. */
function errorOf(failure: DiskJobFailure): Error {
  if (/^E[A-Z0-9]+$/.test(failure.code)) return Object.assign(new Error(failure.message), { code: failure.code });
  return new WizardError(failure.code as ErrorCode, failure.message);
}
