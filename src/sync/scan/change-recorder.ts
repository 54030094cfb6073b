/**
 * The second half of a local scan: hashes the changes a walk found and
 * records them in the index, soon after each is hashed and in batches, small
 * files first, big files beside the scans. Its own module because this is
 * where a scan spends its time, and where it must not record what moved
 * since it looked (a pull that landed, a new write): every commit checks the
 * index and the disk again under the folder's commit lock.
 */
import { describeError, hasCode } from '../../core/errors.js';
import { inLanes } from '../../core/lanes.js';
import { LoopYielder } from '../../core/loop-yield.js';
import { joinNames } from '../../core/paths.js';
import type { Mutex } from '../../core/mutex.js';
import type { LocalEntry } from '../../index/entry.js';
import { isIndexWriteFailure } from '../../index/store.js';
import { observeNow } from '../../index/scanner.js';
import type { Signature } from '../../delta/signature.js';
import { hashFile, INLINE_MAX_BYTES } from '../../workers/hash-file.js';
import { HASH_BATCH_FILES, SmallFileHashes } from '../../workers/hash-batch.js';
import { canonical, compare, merge, type VersionVector } from '../../versions/vector.js';
import type { RetryBook } from '../pull/retry.js';
import { pulledDirMode } from '../disk/permissions.js';
import { entryFor, sameObservation, tooFreshToHash, type Candidate } from './local-changes.js';
import type { FolderControl } from '../folder-control.js';
import type { FolderDeps } from '../folder-deps.js';

/** Bytes a candidate's hashing reads: files by size, everything else nothing (recorded first). Stable sort keeps path order within a size. */
function sizeOf(c: Candidate): number {
  return c.obs?.type === 'file' ? c.obs.size + 1 : 0;
}

/** Whether a candidate is a file small enough to hash many to a job (it has no block sums either). */
function isSmallFile(c: Candidate): boolean {
  return c.obs?.type === 'file' && c.obs.size <= INLINE_MAX_BYTES;
}

/** A scanned change ready to record: its entry, and the block sums of a big file. */
export type Recorded = { entry: Omit<LocalEntry, 'sequence'>; sums?: Signature };

/**
 * Most changes recorded per index transaction during a scan: a scan's whole
 * batch (SCAN_BATCH). Each commit writes every page it dirtied to the WAL, and
 * the path-by-hash index's keys are random, so a batch of N new files dirties
 * about N of its pages: 100,000 rows cost 4.1 s of CPU in transactions of 300
 * and 2.3 s in ones of 5,000 (bench/probes/index-insert.mjs, load 9).
 */
const COMMIT_BATCH = 1_000;
/**
 * Longest a hashed change waits for others to share its transaction. A scan
 * of a few files commits when it ends, whatever this says; only a batch of a
 * big scan waits, and small files hashed many to a job come back 64 at a time.
 */
const COMMIT_DELAY_MS = 100;
/**
 * Files this big are hashed beside the scans, not inside one: hashing a
 * gigabyte takes seconds, and scans run one at a time, so the small files
 * saved meanwhile would wait for it (see `recordChanges`).
 */
const HASH_APART_BYTES = 16 * 1024 * 1024;
/** Roots a scan walks at once. */
export const SCAN_LOOKS_AT_ONCE = 16;
/** Longest wait before looking again at a file still too fresh to hash. */
const FRESH_RETRY_MAX_MS = 2_000;

/** What recording changes needs. */
export interface ChangeRecorderDeps
  extends Pick<FolderDeps, 'id' | 'root' | 'store' | 'localId' | 'clock' | 'log' | 'limits' | 'runner' | 'umask'>,
    Pick<FolderControl, 'commitEntries' | 'announce' | 'requestPull' | 'queueScan' | 'after' | 'indexWriteFailed' | 'lifecycle'> {
  /** The folder's commit lock, shared with the pulls that land files. */
  readonly lock: Mutex;
  /** Paths that could not be read for hashing, shared with the walk (which retries dirs it could not look at). */
  readonly readFailures: RetryBook;
  /** Where an index path is on disk (see DiskNames). */
  readonly onDisk: (rel: string) => string;
}

/** Hashes and records a folder's scanned changes. */
export class ChangeRecorder {
  /** Big files being hashed beside the scans, by path (see HASH_APART_BYTES). */
  private readonly hashingApart = new Map<string, Promise<void>>();
  /** Paths found too fresh to hash in a row (see `record`), for the backoff of their next look. */
  private readonly freshRetries = new Map<string, number>();
  /**
   * Small files hashed while still fresh (see `record`): each is hashed
   * again a tick later whatever its stat says, since a write in the tick
   * of the first read would leave size, mtime and inode as recorded.
   */
  private readonly racy = new Set<string>();
  /** Small files, hashed many to a job across the pool. */
  private readonly small: SmallFileHashes;

  constructor(private readonly deps: ChangeRecorderDeps) {
    this.small = new SmallFileHashes(deps.runner);
  }

  /** Whether a scan must hash `path` even when its stat matches the index (a racy recording waits for its second look). */
  mustHash(path: string): boolean {
    return this.racy.has(path);
  }

  /** Whether a big file is being hashed beside the scans. */
  get isHashingApart(): boolean {
    return this.hashingApart.size > 0;
  }

  /** Big files being hashed apart now. */
  get hashingApartCount(): number {
    return this.hashingApart.size;
  }

  /** Settles once the big files being hashed now are recorded or failed. */
  hashedApart(): Promise<unknown> {
    return Promise.allSettled([...this.hashingApart.values()]);
  }

  /**
   * Hashes and records `candidates`, but for deletions, which it adds to
   * `deletions`. Returns the paths committed. Each file is committed soon
   * after it is hashed, in batches, and small files are hashed first: a big
   * file still hashing holds back neither the small files found with it nor
   * the peers waiting for them.
   */
  async recordChanges(found: readonly Candidate[], deletions: Array<[Candidate, Recorded]>): Promise<string[]> {
    // A big file is hashed apart, so this scan (and the next, which waits for it) need not: but not
    // when the scan records deletions, which must follow every new file (a move is both; see `ScanPass.run`).
    const apart = found.some((c) => c.obs === undefined) ? [] : found.filter((c) => c.obs?.type === 'file' && c.obs.size >= HASH_APART_BYTES);
    for (const c of apart) this.hashApart(c);
    const candidates = found
      .filter((c) => !apart.includes(c) && !(c.obs?.type === 'file' && this.hashingApart.has(c.path)))
      .sort((x, y) => sizeOf(x) - sizeOf(y));
    const hashers = this.deps.limits().hashers;
    // The records' own work (stat checks, entries, the commits) is on this thread: the loop must get its turns meanwhile.
    const yielder = new LoopYielder();
    const committed: string[] = [];
    const ready: Array<[Candidate, Recorded]> = [];
    let cancelTimer: (() => void) | undefined;
    let flushing: Promise<void> = Promise.resolve();
    const flush = (): Promise<void> => {
      cancelTimer?.();
      cancelTimer = undefined;
      const batch = ready.splice(0);
      if (batch.length === 0) return flushing;
      flushing = flushing.then(async () => {
        const paths = await this.commitScanned(batch);
        committed.push(...paths);
        if (paths.length > 0) this.deps.announce();
      });
      return flushing;
    };
    // A failed commit surfaces from the last flush below; these only start batches early.
    const flushSoon = (): void => void flush().catch(() => undefined);
    const recordOne = async (c: Candidate): Promise<void> => {
      if (yielder.due()) await yielder.turn();
      const got = await this.record(c);
      if (got === undefined) return;
      if (got.entry.deleted) return void deletions.push([c, got]);
      ready.push([c, got]);
      if (ready.length >= COMMIT_BATCH) flushSoon();
      else cancelTimer ??= this.deps.clock.setTimer(COMMIT_DELAY_MS, flushSoon);
    };
    // Small files go many to a job (SmallFileHashes): a batch's worth in flight per thread keeps every thread busy.
    await Promise.all([inLanes(candidates.filter(isSmallFile), hashers * HASH_BATCH_FILES, recordOne), inLanes(candidates.filter((c) => !isSmallFile(c)), hashers, recordOne)]);
    await flush();
    return committed;
  }

  /** Records scanned changes in one transaction, each only if neither the index nor the disk moved since it was looked at. */
  commitScanned(batch: ReadonlyArray<[Candidate, Recorded]>): Promise<string[]> {
    const { root, store, id } = this.deps;
    if (batch.length === 0) return Promise.resolve([]);
    return this.deps.lock.run(() =>
      // One transaction for the checks and the writes: each read outside one is a transaction of its own (a
      // first index of 100,000 files spent about 1 s of its main thread in the reads of this check alone).
      store.atomically(() => {
        const changes: Array<Omit<LocalEntry, 'sequence'>> = [];
        const sums: Array<[string, string, Signature]> = [];
        // Commit only if nothing moved since we looked: neither the index (a pull landed) nor the disk (a new write).
        const unmoved = batch.filter(([c]) => store.getLocal(id, c.path)?.sequence === c.prev?.sequence);
        // In one synchronous step, with no hop through the pool: with the lock held, a batch of a thousand must not
        // cost a thousand hops in a row. The files were just read, so their inodes are in the kernel's cache (see
        // lstatNow), and each dir above them is checked once for the batch, which no other turn can interleave with.
        const realDirs = new Set<string>();
        for (const [c, got] of unmoved) {
          if (!sameObservation(observeNow(root, c.path, c.obs?.diskPath ?? this.deps.onDisk(c.path), realDirs), c.obs)) {
            this.queueScanLater(c.path);
            continue;
          }
          changes.push(got.entry);
          if (got.sums !== undefined) sums.push([got.entry.path, got.entry.hash, got.sums]);
        }
        this.deps.commitEntries(changes);
        for (const [p, hash, sig] of sums) store.sums.put(id, p, hash, sig);
        return changes.map((e) => e.path);
      }),
    );
  }

  /**
   * Hashes and records one big changed file beside the scans. One already
   * being hashed is left to that: its commit checks the disk is still what
   * it hashed, and looks again otherwise.
   */
  private hashApart(c: Candidate): void {
    if (this.hashingApart.has(c.path)) return;
    const run = (async () => {
      const got = await this.record(c);
      if (got === undefined || this.deps.lifecycle() === 'stopped') return;
      const committed = await this.commitScanned([[c, got]]);
      if (committed.length === 0) return;
      this.deps.announce();
      this.deps.requestPull(committed);
    })()
      .catch((err: unknown) => {
        if (isIndexWriteFailure(err)) this.deps.indexWriteFailed(err);
        else this.deps.log.error({ err, path: c.path }, 'hashing failed');
      })
      .finally(() => this.hashingApart.delete(c.path));
    this.hashingApart.set(c.path, run);
  }

  /**
   * The entry to record for a changed path, with the block sums of a big
   * file (hashed in a worker thread), or undefined when there is nothing to record after all.
   */
  private async record(c: Candidate): Promise<Recorded | undefined> {
    if (c.obs?.type !== 'file') {
      this.deps.readFailures.succeed(c.path);
      this.freshRetries.delete(c.path);
      // No longer a file (deleted, or a dir or link now): nothing left for a second look to check.
      this.racy.delete(c.path);
      const entry = entryFor(c, '', this.deps.localId, this.deps.clock.now());
      if (entry === undefined) return undefined;
      const theirs = c.prev === undefined && c.obs?.type === 'dir' ? this.peersDirVersion(c.path, c.obs.mode) : undefined;
      return { entry: theirs === undefined ? entry : { ...entry, version: theirs } };
    }
    // Judged now, just before the read, not when the walk saw the file: a write after this point
    // in the tick of the observed mtime is impossible, however long ago the walk began.
    const wait = tooFreshToHash(this.deps.clock.now(), c.obs.mtimeMs);
    const racy = this.racy.delete(c.path);
    // A small file fresh from its write (most often an editor's save, renamed into place) is hashed
    // and sent now, and hashed again once the tick has passed: a same-tick write shows then. Not for
    // that second look, nor a file caught fresh again and again (a log written without pause): those
    // wait, backing off, as big files do, whose second hash would cost as much as their first.
    const fastPath = wait > 0 && !racy && c.obs.size <= INLINE_MAX_BYTES && !this.freshRetries.has(c.path);
    if (fastPath) {
      this.racy.add(c.path);
      this.deps.after(wait, () => this.deps.queueScan([c.path], false));
    } else if (wait > 0) {
      if (racy) this.racy.add(c.path);
      // Only to hash it then: a deletion is for the watcher's settled hand-over to report. A file
      // written without pause (a log) is fresh every time: back off, up to the watcher's 2 s.
      const tries = this.freshRetries.get(c.path) ?? 0;
      this.freshRetries.set(c.path, tries + 1);
      this.deps.after(Math.min(FRESH_RETRY_MAX_MS, wait * 2 ** tries), () => this.deps.queueScan([c.path], false));
      return undefined;
    }
    this.freshRetries.delete(c.path);
    try {
      const abs = joinNames(this.deps.root, c.obs.diskPath ?? c.path);
      const { hash, sums } = isSmallFile(c) ? { hash: await this.small.hash(abs, c.obs), sums: undefined } : await hashFile(this.deps.runner, abs, c.obs, this.priorSums(c));
      this.deps.readFailures.succeed(c.path);
      const entry = entryFor(c, hash, this.deps.localId, this.deps.clock.now());
      // A racy file's second look that found what the first recorded: nothing to commit.
      if (entry === undefined || (racy && c.prev !== undefined && sameEntry(entry, c.prev))) return undefined;
      return sums === undefined ? { entry } : { entry, sums };
    } catch (err) {
      // CHANGED: a file being written right now; look again once it settles.
      if (hasCode(err, 'CHANGED')) {
        this.deps.log.debug({ path: c.path }, 'changed during hashing; hashing again once it settles');
        this.queueScanLater(c.path);
        return undefined;
      }
      // Unreadable (permissions, I/O error): back off per path, so one bad file neither spins nor stalls the rest.
      const delay = this.deps.readFailures.fail(c.path, err, this.deps.clock.now());
      this.deps.log.warn({ path: c.path, err: describeError(err), retryInMs: delay }, 'cannot read file; will retry');
      this.deps.after(delay, () => this.deps.queueScan([c.path]));
      return undefined;
    }
  }

  /**
   * The version to give a dir that is new to our index when peers have the
   * same dir (same mode, or the mode a pull of theirs makes here through our
   * umask): theirs, merged, not a new one of ours. Such a dir is no change of
   * ours: most often a parent our own download made before the dir's entry
   * arrived. A version of our own would be concurrent with theirs, and a
   * deletion on our side that came before the merge of the two would then
   * lose to their copy and bring the dir back; a peer's deletion sent from
   * their version would meet a dir it does not cover.
   *
   * A peer whose mode is not ours must not find our record newer than its
   * own version: it would take our mode, one that nobody set there. So its
   * version counts only when the merge is exactly its version; a hostile
   * peer's entry can then never make ours dominate an honest peer's.
   */
  private peersDirVersion(rel: string, mode: number): VersionVector | undefined {
    const dirs = this.deps.store.remotesFor(this.deps.id, rel).filter((r) => r.entry.type === 'dir' && !r.entry.deleted);
    const same = dirs.filter((r) => r.entry.mode === mode).map((r) => r.entry.version);
    const asPulled = dirs.filter((r) => r.entry.mode !== mode && pulledDirMode(r.entry.mode, this.deps.umask) === mode).map((r) => r.entry.version);
    const all = [...same, ...asPulled];
    if (all.length === 0) return undefined;
    const merged = all.reduce(merge);
    if (asPulled.every((v) => compare(v, merged) === 'equal')) return merged;
    return same.length === 0 ? undefined : same.reduce(merge);
  }

  /** Stored sums of the version a changed file replaces (they spare the weak sums of its unchanged blocks). */
  private priorSums(c: Candidate): Signature | undefined {
    const prev = c.prev;
    if (prev === undefined || prev.deleted || prev.type !== 'file' || prev.hash === '') return undefined;
    return this.deps.store.sums.get(this.deps.id, c.path, prev.hash);
  }

  private queueScanLater(rel: string): void {
    this.deps.after(Math.max(this.deps.limits().debounceMs, 100), () => this.deps.queueScan([rel]));
  }
}

/** Whether `a` records exactly what `b` does: a commit of it would only cost a sequence. */
function sameEntry(a: Omit<LocalEntry, 'sequence'>, b: LocalEntry): boolean {
  return (
    a.type === b.type &&
    a.hash === b.hash &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.mode === b.mode &&
    a.inode === b.inode &&
    a.target === b.target &&
    a.deleted === b.deleted &&
    (a.diskName ?? '') === (b.diskName ?? '') &&
    canonical(a.version) === canonical(b.version)
  );
}
