/**
 * One scan of a folder's disk: walks the roots it is given, finds what
 * changed since the index last looked, holds back what must not be recorded
 * (deletions past the budget or under paths that may not delete, files that
 * look unflushed after a power cut), and has the rest recorded (see
 * change-recorder.ts), deletions last. Its own module because deciding what
 * a walk may count as changed is where the index is kept honest about the
 * disk, and it is separate from hashing what it found.
 */
import pLimit from 'p-limit';
import { describeError } from '../../core/errors.js';
import { isUnder, parentOf } from '../../core/paths.js';
import { walkDirs, type DirStep, type Observation } from '../../index/scanner.js';
import { isAlwaysIgnored, type IgnoreMatcher } from '../../ignore/matcher.js';
import { looksUnflushed, minimalRoots, type Candidate } from './local-changes.js';
import { stepChanges, type DirIndex, type DirRules } from './dir-changes.js';
import { ScanFeed, type ScanHeld } from './scan-feed.js';
import type { RetryBook } from '../pull/retry.js';
import type { DeletionGate } from '../deletions/deletion-gate.js';
import { removeStaleTemps, sharedTemps } from '../disk/stale-temps.js';
import { SCAN_LOOKS_AT_ONCE, type ChangeRecorder, type Recorded } from './change-recorder.js';
import { FOLDER_IGNORE, type FolderIgnoreRules } from './ignore-rules.js';
import type { FolderControl } from '../folder-control.js';
import type { FolderDeps } from '../folder-deps.js';
import type { SkippedPaths } from './skipped-paths.js';

/** Whether `p` is one of `roots` or under one ('' is the whole folder). Looks up each ancestor, not each root: a scan can have thousands. */
function isUnderAny(p: string, roots: ReadonlySet<string>): boolean {
  if (roots.has('') || roots.has(p)) return true;
  for (let slash = p.indexOf('/'); slash >= 0; slash = p.indexOf('/', slash + 1)) if (roots.has(p.slice(0, slash))) return true;
  return false;
}

/** What a scan needs. */
export interface ScanPassDeps
  extends Pick<FolderDeps, 'id' | 'root' | 'store' | 'clock' | 'monotonicMs' | 'log' | 'readDir'>,
    Pick<FolderControl, 'lifecycle' | 'integrityProblem' | 'halt' | 'after' | 'queueScan' | 'requestPull' | 'announce'> {
  readonly ignore: FolderIgnoreRules;
  /** Holds deletions past the budget until the user confirms them. */
  readonly deletions: DeletionGate;
  /** Paths that could not be looked at or read, shared with the recorder; retried with backoff. */
  readonly readFailures: RetryBook;
  /** Files that look unflushed after a power cut, with what the scan saw (see Folder). */
  readonly unflushed: Map<string, Observation>;
  readonly recorder: ChangeRecorder;
  /** What the walks could not sync, for status. */
  readonly skipped: SkippedPaths;
  /** Where an index path is on disk (see DiskNames). */
  readonly onDisk: (rel: string) => string;
  /** Aborts walks when the folder stops. */
  readonly signal: AbortSignal;
  /** How long a scan that found no ignore rules to go by waits before it tries again. */
  readonly heldScanRetryMs: number;
  /** Whether no whole-folder scan ran since the folder was made (see Folder). */
  readonly afterRestart: () => boolean;
}

/** Whole-folder scans (the first, the periodic rescan, one after new ignore rules or settings) that ran to the end: how many, and the last one's length. */
export interface FullScans {
  readonly count: number;
  /** How long the last one took, from its start to its last commit. */
  readonly lastMs: number;
  /** When it ended (wall clock). */
  readonly lastAtMs: number;
  /** The most the last one held at once: one walk step's observations (one dir's children), one batch of changes. */
  readonly held?: ScanHeld;
}

/** Runs a folder's scans. */
export class ScanPass {
  private scansRunning = 0;
  private full: FullScans = { count: 0, lastMs: 0, lastAtMs: 0 };
  /** Scans were skipped while no ignore rules could be read. */
  private scansHeld = false;

  constructor(private readonly deps: ScanPassDeps) {}

  /** Whether a scan is running now. */
  get isScanning(): boolean {
    return this.scansRunning > 0;
  }

  /** The whole-folder scans that completed, for status: a scan of a small tree is over before any poll of `isScanning` sees it. */
  get fullScans(): FullScans {
    return this.full;
  }

  /** Scans `paths`, recording deletions only under `deletable` (see `Folder.queueScan`). */
  async run(paths: string[], deletable: string[]): Promise<void> {
    const lifecycle = this.deps.lifecycle();
    if (lifecycle === 'stopped' || lifecycle === 'halted') return;
    const startedAt = this.deps.monotonicMs();
    const problem = await this.deps.integrityProblem();
    if (problem !== undefined) {
      this.deps.halt(problem);
      return;
    }
    this.scansRunning++;
    try {
      const rulesChanged = await this.deps.ignore.refresh();
      if (rulesChanged === undefined) {
        // No ignore rules known yet: a scan now would record, and send, what they exclude.
        this.scansHeld = true;
        this.deps.after(this.deps.heldScanRetryMs, () => this.queueScanAgain(paths, deletable));
        return;
      }
      // New ignore rules can un-ignore paths anywhere, and held scans may have been of anything: only a whole-folder scan finds them.
      // A path in a clash is looked at from the dir that holds both spellings: alone, one of them would pass for the path.
      const roots = rulesChanged || this.scansHeld ? [''] : minimalRoots(paths.map((p) => this.clashDirOf(p)));
      this.scansHeld = false;
      // The folder's size before this scan records anything: the deletion budget weighs its deletions against that.
      const stats = this.deps.store.localStats(this.deps.id);
      const deletionRoots = new Set(minimalRoots(deletable));
      const mayDelete = (p: string) => isUnderAny(p, deletionRoots);
      const whole = roots.includes('');
      // Changes are recorded in batches as the walks find them; deletions wait for the end, after
      // every root: a file moved away is a deletion plus a new file that still has to be hashed, and
      // a peer that heard of the deletion first would trash its copy and then download the "new"
      // file whole instead of moving it. The budget weighs them together, whatever roots they were
      // found under (an `rm -rf` of twelve dirs is twelve roots, each a small part of the folder).
      const feed = new ScanFeed(this.deps.recorder, (batch) => this.deps.deletions.recreated(batch), !whole);
      // Side by side: a watcher hand-over can name thousands of files, each a few file-system calls
      // whose latency (a busy disk, a busy libuv pool) would otherwise add up one after another.
      const walkLimit = pLimit(SCAN_LOOKS_AT_ONCE);
      // What was skipped when the scan began: what its walks report again is not new (see noteSkipped).
      const skippedBefore = this.deps.skipped.reasons();
      const walked = await Promise.all(roots.map((rel) => walkLimit(() => this.changesUnderOrRetry(rel, mayDelete, feed, skippedBefore))));
      const found = await feed.drained();
      const looked = new Set(walked.filter((w) => w.ok).map((w) => w.rel));
      const admitted = this.admitDeletions(feed.deletions, stats.files + stats.dirs, (p) => mayDelete(p) && isUnderAny(p, looked));
      const deletions: Array<[Candidate, Recorded]> = [];
      await this.deps.recorder.recordChanges(admitted, deletions);
      // The same holds for a big file being hashed apart (this scan's, or an earlier one's): a
      // move's new name and its old one's deletion are often handed over in two scans.
      if (deletions.length > 0 && this.deps.recorder.hashingApartCount > 0) {
        this.deps.log.debug({ deletions: deletions.length, hashing: this.deps.recorder.hashingApartCount }, 'deletions wait for big files still being hashed');
        await this.deps.recorder.hashedApart();
      }
      const deleted = await this.deps.recorder.commitScanned(deletions);
      const committed = { count: found.count + deleted.length, first: [...found.first, ...deleted].slice(0, 5) };
      const ms = Math.round(this.deps.monotonicMs() - startedAt);
      if (whole) this.full = { count: this.full.count + 1, lastMs: ms, lastAtMs: this.deps.clock.now(), held: feed.held };
      this.deps.log.debug({ roots: roots.slice(0, 20), rootCount: roots.length, committed: committed.count, first: committed.first, ms }, 'scanned');
      if (committed.count > 0) this.deps.announce();
      // A local change can settle what a pull was waiting for (or supersede it); a whole-folder
      // scan (the first, or new ignore rules) may have made any path pullable.
      this.deps.requestPull(whole ? undefined : [...(found.paths ?? []), ...deleted]);
    } finally {
      this.scansRunning--;
    }
  }

  /** The dir holding the clash `rel` is at or below, or `rel` when it is in none. */
  private clashDirOf(rel: string): string {
    const clash = this.deps.skipped.clashAt(rel);
    return clash === undefined ? rel : parentOf(clash);
  }

  /** Queues a scan that could not run yet again, keeping which of its paths may record deletions. */
  private queueScanAgain(paths: string[], deletable: string[]): void {
    const rest = paths.filter((p) => !deletable.includes(p));
    if (deletable.length > 0) this.deps.queueScan(deletable);
    if (rest.length > 0) this.deps.queueScan(rest, false);
  }

  /**
   * What the deletion budget lets this scan record: its deletions are
   * weighed together, whatever roots they were found under (an `rm -rf` of
   * twelve dirs is twelve roots, each a small part of the folder), against
   * the window of the last minute's deletions. `covers` tells where this
   * scan looked for deletions.
   */
  private admitDeletions(found: Candidate[], live: number, covers: (path: string) => boolean): Candidate[] {
    return this.deps.deletions.admit(found, live, covers, (held) =>
      this.deps.log.warn({ deletions: held.count, local: held.local, fromPeers: held.fromPeers, reason: held.reason }, `deletions held until 'wizard resume ${this.deps.id}'`),
    );
  }

  /**
   * changesUnder, except that a path that cannot be looked at (EACCES or EIO
   * on a dir above it) is retried on its own with backoff, instead of failing
   * the scan of every other path handed over with it. Nothing under it is
   * taken as deleted meanwhile (`ok` false: its deletions were not looked for).
   */
  private async changesUnderOrRetry(rel: string, mayDelete: (path: string) => boolean, feed: ScanFeed, skippedBefore: ReadonlyMap<string, string>): Promise<{ rel: string; ok: boolean }> {
    try {
      await this.changesUnder(rel, mayDelete, feed, skippedBefore);
      this.deps.readFailures.succeed(rel);
      return { rel, ok: true };
    } catch (err) {
      if (this.deps.signal.aborted || feed.failed) throw err;
      const delay = this.deps.readFailures.fail(rel, err, this.deps.clock.now());
      this.deps.log.warn({ path: rel, err: describeError(err), retryInMs: delay }, 'cannot scan path; will retry');
      this.deps.after(delay, () => this.deps.queueScan([rel], mayDelete(rel)));
      return { rel, ok: false };
    }
  }

  /**
   * Walks one subtree and feeds what changed there since the index last
   * looked to `feed`, one dir at a time, with the deletions `mayDelete`
   * allows (the budget weighs them later, see admitDeletions). Holds one
   * dir's observations and that dir's index entries, never the subtree's
   * (and the listings of the next two dirs, read ahead: DirListings).
   */
  private async changesUnder(rel: string, mayDelete: (path: string) => boolean, feed: ScanFeed, skippedBefore: ReadonlyMap<string, string>): Promise<void> {
    const { root, store, id } = this.deps;
    const matcher = this.deps.ignore.matcher as IgnoreMatcher;
    const index: DirIndex = { getLocal: (p) => store.getLocal(id, p), below: (dir, skipBelow) => store.reads.below(id, dir, skipBelow), comparedBelow: (dir, skipBelow) => store.reads.comparedBelow(id, dir, skipBelow) };
    const rules: DirRules = { isIgnored: (p, isDir) => this.deps.ignore.isIgnored(p) || matcher.isIgnored(p, isDir), mustHash: (p) => this.deps.recorder.mustHash(p) };
    const unflushed = new Set<string>();
    // A scan of the whole folder also looks at the shared temp dir, which no walk enters (it is in .wizard).
    const tempsAt = { afterRestart: this.deps.afterRestart() && rel === '', nowMs: this.deps.clock.now() };
    const removedTemps: string[] = [];
    const sweep = async (temps: readonly string[]) => {
      if (temps.length > 0) removedTemps.push(...(await removeStaleTemps(root, temps, tempsAt)));
    };
    if (rel === '') await sweep(await sharedTemps(root));
    // A pull may land (or delete) paths here while the walk runs; the walk may have listed a dir
    // before a landing's rename, and would take the new entry for a file gone. So an entry recorded
    // after a dir's listing began was recorded by whoever looked at the disk for it (a landing, a
    // scan beside this one): what the listing saw of that path may predate it. Counted as
    // deletions, a burst of downloads landing in a dir being walked held them as "most of the
    // folder vanished", waiting for a `wizard resume` that had nothing to confirm.
    // The walk reads listings ahead of this loop, so each step says where the index was when its
    // listing began (`mark`); the first step, the walked path itself, was looked at after this.
    const walkBegan = store.folderState(id).maxSequence;
    for await (const step of walkDirs(root, rel, {
      matcher,
      isInternal: (p) => isAlwaysIgnored(p) || p === FOLDER_IGNORE,
      signal: this.deps.signal,
      onDisk: this.deps.onDisk,
      mark: () => store.folderState(id).maxSequence,
      ...(this.deps.readDir === undefined ? {} : { readDir: this.deps.readDir }),
    })) {
      feed.sawStep(step.seen.size);
      this.noteSkipped(step, skippedBefore);
      await sweep(step.temps);
      const listedAfter = step.mark ?? walkBegan;
      const changed = stepChanges(rel, step, index, rules).filter((c) => (c.prev === undefined || c.prev.sequence <= listedAfter) && (c.obs !== undefined || mayDelete(c.path)));
      await feed.add(this.setAsideUnflushed(changed, unflushed));
    }
    if (removedTemps.length > 0) this.deps.log.info({ count: removedTemps.length, first: removedTemps[0] }, 'removed temp files left by interrupted downloads');
    // Paths under `rel` that no longer look unflushed are forgotten: an edit since is an ordinary change.
    for (const p of [...this.deps.unflushed.keys()]) if (isUnder(p, rel) && !unflushed.has(p)) this.deps.unflushed.delete(p);
    if (unflushed.size > 0) this.deps.requestPull([...unflushed]);
  }

  /** Has the skipped paths take what one walk step found, logging what is new since `before` (the reasons when the walk began). */
  private noteSkipped(step: DirStep, before: ReadonlyMap<string, string>): void {
    const listed = step.listed && step.dir !== undefined ? [step.dir] : [];
    const { fresh, clashesEnded } = this.deps.skipped.update({ listed, seen: step.seen.keys(), skipped: step.skipped }, before);
    // Once per path and reason, not at every rescan; status keeps showing them.
    for (const s of fresh) this.deps.log.warn({ path: s.path, reason: s.reason }, 'not syncing path');
    // A peer's version of a path the clash held back can land now.
    if (clashesEnded.length > 0) this.deps.requestPull(clashesEnded);
  }

  /**
   * Takes files that look unflushed after a power cut out of `candidates`
   * (recording them would bump their version and send truncated content over
   * the peers' good copy), adding their paths to `found`, for a pull to restore them.
   */
  private setAsideUnflushed(candidates: Candidate[], found: Set<string>): Candidate[] {
    const now = this.deps.clock.now();
    const kept: Candidate[] = [];
    for (const c of candidates) {
      if (c.obs !== undefined && looksUnflushed(c, now)) {
        if (this.deps.unflushed.get(c.path)?.size !== c.obs.size) {
          this.deps.log.warn(
            { path: c.path, indexedSize: c.prev?.size, diskSize: c.obs.size, mtimeMs: c.obs.mtimeMs },
            'file changed size without a new modification time, as after a power cut that lost its data; not syncing it: restoring the recorded version from a peer and keeping this content as a conflict copy',
          );
        }
        this.deps.unflushed.set(c.path, c.obs);
        found.add(c.path);
      } else kept.push(c);
    }
    return kept;
  }
}
