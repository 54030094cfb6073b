/**
 * The last step of a pull, done for many paths at once. Each path's step
 * runs with the folder lock held (check the disk, rename the temp file into
 * place); then the dirs they renamed into are fsynced, each once, and all
 * their index entries are committed in one transaction; then the lock is
 * released. The order per file is what it was alone (rename, fsync the dir,
 * record), so a crash still leaves each file old or new and the index never
 * ahead of the disk.
 *
 * Batches form by themselves: the first path lands alone, and whatever
 * arrives while a batch holds the lock lands with the next one. A burst of
 * small files thus costs one dir fsync and one transaction per batch
 * instead of per file, and the lock is taken once per batch, not per file.
 *
 * The steps of a batch are a few file system calls each (look, look again,
 * rename, stat), every one a round trip to libuv's thread pool; one after
 * the other, 256 of them kept a burst's files waiting for about half a
 * second per batch. They touch different paths, so they run side by side,
 * except a step marked `alone` (a deletion: a dir goes only once the
 * children before it are gone), which waits for the steps before it and
 * holds back those after it.
 */
import { open } from 'node:fs/promises';
import { crashPoint } from '../../core/crash-point.js';
import type { LocalEntry } from '../../index/entry.js';

/** What one path's step leaves to record. */
export interface Landing {
  /** Entries to commit (already checked against the index under the lock). */
  readonly entries: Array<Omit<LocalEntry, 'sequence'>>;
  /** Absolute dir whose entries changed and must be fsynced before the commit; undefined for none. */
  readonly dir?: string;
  /** Runs after the commit, still under the lock (block sums to store, say). */
  readonly after?: () => void;
}

export interface GroupCommitDeps {
  /** Runs `fn` holding the folder's commit lock. */
  readonly locked: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Records entries in the index. */
  readonly commit: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
  /** Runs `fn`'s index writes (the commit, then the landings' `after`) as one transaction; as they come by default. */
  readonly atomically?: (fn: () => void) => void;
  /** Makes a dir's entries durable; fsync of the dir by default. */
  readonly syncDir?: (dir: string) => Promise<void>;
  /**
   * Told of a path's entries as soon as its step has put them on disk, before
   * the batch is durable and committed: the watcher reports the rename then,
   * and its echo can be told apart from a user's edit only if they are known.
   */
  readonly placed?: (entries: Array<Omit<LocalEntry, 'sequence'>>) => void;
}

/** Most paths landed under one lock hold, so the lock is never held for long. */
const MAX_BATCH = 256;
/** Most steps of a batch running at once. */
const STEP_CONCURRENCY = 16;

interface Job {
  readonly step: () => Promise<Landing>;
  readonly alone: boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** Lands pulled paths in batches; one per folder. */
export class GroupCommit {
  private readonly queue: Job[] = [];
  private draining = false;

  constructor(private readonly deps: GroupCommitDeps) {}

  /**
   * Runs `step` under the lock in the next batch and resolves once its
   * entries are committed. A step that throws fails only its own path; a
   * failed fsync or commit fails every path of the batch (their files are
   * in place, and the next scan records them).
   */
  land(step: () => Promise<Landing>, opts: { alone?: boolean } = {}): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ step, alone: opts.alone === true, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.deps.locked(() => this.landBatch(batch)).catch((err: unknown) => {
          for (const job of batch) job.reject(err);
        });
      }
    } finally {
      this.draining = false;
    }
  }

  private async landBatch(batch: readonly Job[]): Promise<void> {
    const landed: Array<[Job, Landing]> = [];
    const run = async (job: Job): Promise<void> => {
      try {
        const landing = await job.step();
        this.deps.placed?.(landing.entries);
        landed.push([job, landing]);
      } catch (err) {
        job.reject(err);
      }
    };
    const runSideBySide = async (jobs: readonly Job[]): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < jobs.length) await run(jobs[next++] as Job);
      };
      await Promise.all(Array.from({ length: Math.min(STEP_CONCURRENCY, jobs.length) }, worker));
    };
    let group: Job[] = [];
    for (const job of batch) {
      if (!job.alone) {
        group.push(job);
        continue;
      }
      await runSideBySide(group);
      group = [];
      await run(job);
    }
    await runSideBySide(group);
    if (landed.length === 0) return;
    try {
      const dirs = new Set(landed.flatMap(([, l]) => (l.dir === undefined ? [] : [l.dir])));
      await Promise.all([...dirs].map((d) => (this.deps.syncDir ?? fsyncPath)(d)));
      // Crash point: the batch is on disk and durable, the index still has the old entries.
      crashPoint('before-index-commit');
      (this.deps.atomically ?? ((fn) => fn()))(() => {
        this.deps.commit(landed.flatMap(([, l]) => l.entries));
        for (const [, l] of landed) l.after?.();
      });
    } catch (err) {
      for (const [job] of landed) job.reject(err);
      return;
    }
    for (const [job] of landed) job.resolve();
  }
}

/** fsyncs a file (its bytes) or a dir (the names just created or renamed in it), so they survive a power cut. */
export async function fsyncPath(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
