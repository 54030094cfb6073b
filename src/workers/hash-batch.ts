/**
 * Small files hashed across the pool's threads, many to a job: a file of a
 * few KiB is opened, read and hashed in tens of microseconds, less than a hop
 * to a worker thread costs, so hashed one to a job they would cost more than
 * hashed here, and hashed here they take the event loop's thread from the
 * walk and the index writes (a first index of 100,000 files spent a quarter of
 * its main thread's time reading and hashing them). Its own module because
 * gathering callers' files into jobs, and handing each caller its own file's
 * answer, is a job apart from hashing one file (hash-file.ts).
 */
import { WizardError, type ErrorCode } from '../core/errors.js';
import type { StatKey } from '../index/hash.js';
import { inlineRunner, type JobRunner } from './pool.js';

/** Files per job: enough that the hop is a small part of a job's time, few enough that both threads get work from a scan's first batch. */
export const HASH_BATCH_FILES = 64;
/**
 * Fewer files than this, asked for in one turn, are hashed on this thread, as
 * every small file was before batches: an editor's save is one file, and
 * the hop to a worker, or starting a thread when the pool has gone idle (it
 * does 15 s after its last job), costs more than hashing a few KiB. That
 * would be on the path of a save reaching the peer.
 */
export const POOL_MIN_FILES = 8;

type Waiting = { readonly path: string; readonly stat: StatKey; readonly resolve: (hash: string) => void; readonly reject: (err: Error) => void };

/** Hashes small files (up to INLINE_MAX_BYTES) in batch jobs on a pool; one per folder. */
export class SmallFileHashes {
  private waiting: Waiting[] = [];
  private sendQueued = false;

  constructor(
    private readonly runner: JobRunner,
    private readonly batchFiles = HASH_BATCH_FILES,
    /** Where a turn of fewer than POOL_MIN_FILES files is hashed: this thread. */
    private readonly here: JobRunner = inlineRunner,
  ) {}

  /**
   * The content hash of the small file at `path`, which must match `stat`
   * before and throughout the read (CHANGED otherwise; an unreadable file
   * rejects with its errno code). Sent with the other files asked for in the
   * same turn of the event loop, up to a batch's worth.
   */
  hash(path: string, stat: StatKey): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ path, stat, resolve, reject });
      if (this.waiting.length >= this.batchFiles) this.send();
      else if (!this.sendQueued) {
        this.sendQueued = true;
        // Once every caller of this turn has asked: a scan's batch asks for its files in one go.
        setImmediate(() => {
          this.sendQueued = false;
          this.send();
        });
      }
    });
  }

  private send(): void {
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    // Only what the job reads: an Observation carries more, and every field is copied to the thread.
    const files = batch.map(({ path, stat }) => ({ path, stat: { size: stat.size, mtimeMs: stat.mtimeMs, inode: stat.inode } }));
    (batch.length < POOL_MIN_FILES ? this.here : this.runner).run('hashBatch', { files }).then(
      ({ hashes }) => {
        for (const [i, w] of batch.entries()) {
          const got = hashes[i];
          if (typeof got === 'string') w.resolve(got);
          else w.reject(new WizardError((got?.code ?? 'INTERNAL') as ErrorCode, got?.message ?? `no hash came back for ${w.path}`));
        }
      },
      (err: Error) => {
        for (const w of batch) w.reject(err);
      },
    );
  }
}
