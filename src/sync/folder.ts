/**
 * One synced folder: keeps its index in step with the disk (scans, watcher)
 * and the disk in step with its peers (pull rounds). The decisions are made by
 * the pure `reconcile`; the disk work by the puller; this file sequences them.
 */
import { setMaxListeners } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError, hasCode, WizardError } from '../core/errors.js';
import { isUnder } from '../core/paths.js';
import { Mutex } from '../core/mutex.js';
import type { Limits } from '../config/schema.js';
import type { LocalEntry } from '../index/entry.js';
import { isIndexWriteFailure, type IndexStore } from '../index/store.js';
import { observe, walk, type Observation, type WalkOptions } from '../index/scanner.js';
import type { WatchDir } from '../index/dir-tree-watch.js';
import { FolderWatcher } from '../index/watcher.js';
import { compileIgnore, isAlwaysIgnored, type IgnoreMatcher } from '../ignore/matcher.js';
import type { Signature } from '../delta/signature.js';
import type { JobRunner } from '../workers/pool.js';
import { hashFile } from '../workers/hash-file.js';
import type { SumsSource } from './delta-plan.js';
import type { BlockSource } from './fetch.js';
import { conflictName } from './conflict.js';
import { applyMerge, applyTake, type PullContext, type TakeOptions } from './puller.js';
import { changedPaths, entryFor, expiredTombstones, looksUnflushed, minimalRoots, sameObservation, tooFreshToHash, type Candidate } from './local-changes.js';
import { planPull, planSize } from './pull-plan.js';
import { lastModifier, reconcile, restoreDecision } from './reconcile.js';
import { readBlock, readSums, type WireSums } from './serve.js';
import { RetryBook } from './retry.js';
import { DeletionGate } from './deletion-gate.js';
import { integrityProblem, MARKER_DIR, type DeletionBudget } from './safety.js';
import { TransferBook } from './transfers.js';
import type { TransferSlots } from './transfer-slots.js';
import { ContentFetches } from './content-fetches.js';
import { GroupCommit } from './group-commit.js';
import { Trash } from './trash.js';
import { removeStaleTemps } from './stale-temps.js';
import { merge, type VersionVector } from '../versions/vector.js';

/** Bytes a candidate's hashing reads: files by size, everything else nothing (recorded first). Stable sort keeps path order within a size. */
function sizeOf(c: Candidate): number {
  return c.obs?.type === 'file' ? c.obs.size + 1 : 0;
}

/** A scanned change ready to record: its entry, and the block sums of a big file. */
type Recorded = { entry: Omit<LocalEntry, 'sequence'>; sums?: Signature };

/** The folder's view of the peers it shares with. */
export interface FolderPeers {
  /** Connected peers that share this folder. */
  connected(): string[];
  /** Reads a block of a file from one peer. */
  readonly readBlock: BlockSource;
  /** Reads block sums of a file from one peer. */
  readonly readSums: SumsSource;
  /** New local entries are in the index: tell the peers. */
  announce(): void;
}

/** What a folder needs. */
export interface FolderDeps {
  readonly id: string;
  readonly root: string;
  readonly store: IndexStore;
  /** Our short node ID: the key we bump in version vectors. */
  readonly localId: string;
  readonly clock: Clock;
  /** Elapsed real time, which a wall-clock step does not move. */
  readonly monotonicMs: () => number;
  /** Stamps trash entries (the node's SteadyTime, so a clock step cannot get them purged early); `clock` when absent. */
  readonly trashClock?: Pick<Clock, 'now'>;
  readonly log: Logger;
  readonly peers: FolderPeers;
  /** The master ignore list's text (hot-reloadable); undefined while its file exists but has never been readable. */
  readonly masterIgnore: () => string | undefined;
  readonly limits: () => Limits;
  readonly rescanIntervalMs: () => number;
  readonly deletionBudget: () => DeletionBudget;
  readonly tombstoneDays: () => number;
  /** Worker threads for hashing and delta work. */
  readonly runner: JobRunner;
  /** The node's limit on concurrent downloads, shared with its other folders. */
  readonly slots: TransferSlots;
  /** Opens one dir's watch (fs.watch by default); tests inject watch failures here. */
  readonly watchDir?: WatchDir;
  /** How scans list a directory (see WalkOptions.readDir); node's readdir by default. */
  readonly readDir?: WalkOptions['readDir'];
}

/** A folder's state, as status shows it. */
export type FolderState = 'starting' | 'scanning' | 'syncing' | 'idle' | 'halted' | 'stopped';

/** Status of one folder. */
export interface FolderStatus {
  readonly id: string;
  readonly path: string;
  readonly state: FolderState;
  readonly haltReason?: string;
  readonly files: number;
  readonly bytes: number;
  readonly inSync: boolean;
  readonly pending: number;
  /** Local deletions waiting for `wizard resume`. */
  readonly heldDeletions: number;
  /** Bytes of file content still to download in the current pull round. */
  readonly bytesLeft: number;
  /** Why part of the folder is polled instead of watched (the inotify watch limit, and how to raise it). */
  readonly watchProblem?: string;
}

/** The folder's own ignore file at its root (not synced, like Syncthing's .stignore). */
const FOLDER_IGNORE = '.wizardignore';
/** Most changes recorded per index transaction during a scan. */
const COMMIT_BATCH = 500;
/** Longest a hashed change waits for others to share its transaction. */
const COMMIT_DELAY_MS = 20;
/** Longest wait before downloads that completed are announced, while others still run. */
const ANNOUNCE_MS = 50;
/** How long after a pull lands a watcher event for its path is taken for the echo of it. */
const OWN_ECHO_MS = 2_000;
/** Longest `stop` waits for pulls under way to land or give up. */
const STOP_WAIT_MS = 10_000;
/**
 * Files this big are hashed beside the scans, not inside one: hashing a
 * gigabyte takes seconds, and scans run one at a time, so the small files
 * saved meanwhile would wait for it (see `recordChanges`).
 */
const HASH_APART_BYTES = 16 * 1024 * 1024;
/** Paths a scan looks at on disk at once: the roots it walks, the files a commit batch checks again. */
const SCAN_LOOKS_AT_ONCE = 16;
/** Longest wait before looking again at a file still too fresh to hash. */
const FRESH_RETRY_MAX_MS = 2_000;
/** How often a halted folder checks whether it can resume. */
const HALT_RECHECK_MS = 5_000;

/** One synced folder. */
export class Folder {
  /** Lifecycle; what the folder is doing while running is derived from `scansRunning` and `pulling`. */
  private lifecycle: 'starting' | 'running' | 'halted' | 'stopped' = 'starting';
  private scansRunning = 0;
  /** Big files being hashed beside the scans, by path (see HASH_APART_BYTES). */
  private readonly hashingApart = new Map<string, Promise<void>>();
  private haltReason: string | undefined;
  private readonly lock = new Mutex();
  /** Pulled paths are renamed into place and recorded in batches (see group-commit.ts). */
  private readonly landing = new GroupCommit({
    locked: (fn) => this.lock.run(fn),
    commit: (entries) => this.commitPulled(entries),
    atomically: (fn) => this.deps.store.atomically(fn),
  });
  /** Paths a pull just put on disk, by when (monotonic): the watcher's echo of our own writes (see `ownEcho`). */
  private readonly landedAt = new Map<string, number>();
  private readonly trash: Trash;
  private readonly watcher: FolderWatcher;
  private readonly abort = new AbortController();
  private matcher: IgnoreMatcher | undefined;
  private matcherSource = '';
  /** The folder's own ignore file as last read (undefined: never readable), and why the latest read failed. */
  private ownIgnore: string | undefined;
  private ownIgnoreProblem: string | undefined;
  /** Scans were skipped while no ignore rules could be read. */
  private scansHeld = false;
  private scanning: Promise<void> = Promise.resolve();
  /** Paths waiting for the next scan, and that scan once scheduled. */
  private readonly scanQueue = new Set<string>();
  /** The queued paths under which the next scan may record deletions (see `queueScan`). */
  private readonly deletionQueue = new Set<string>();
  private nextScan: Promise<void> | undefined;
  private pullRequested = false;
  private pulling = false;
  /** Paths whose download or deletion was handed off from a pull round and has not ended. */
  private readonly handedOff = new Set<string>();
  /** Those hand-offs themselves, for `stop` to wait out. */
  private readonly handOffs = new Set<Promise<void>>();
  /** Downloads in progress by content hash, so a deletion can wait for the ones that may use its file. */
  private readonly fetching = new ContentFetches();
  /** Paths skipped by a round because a hand-off held them. */
  private readonly skipped = new Set<string>();
  /** What the next pull round decides: every differing path, or only these. */
  private pullAll = false;
  private readonly pullPaths = new Set<string>();
  private announcePending = false;
  /** Sizes of the handed-off downloads not yet finished. */
  private plannedBytes = 0;
  /** The periodic rescan is scheduled (it outlives a halt). */
  private started = false;
  /**
   * No whole-folder scan has run since this folder was made (a process start, or a restart after
   * a crash): the temp files found were left by downloads that are dead or aborted, so the ones no
   * download can reuse go. (An aborted one still finishing would only fail its rename and be retried.)
   */
  private afterRestart = true;
  private readonly failures = new RetryBook();
  /** Local files that could not be read for hashing (EACCES, EIO): retried with backoff, shown in status. */
  private readonly readFailures = new RetryBook();
  /** Paths found too fresh to hash in a row (see `record`), for the backoff of their next look. */
  private readonly freshRetries = new Map<string, number>();
  /**
   * Files that look unflushed after a power cut (see looksUnflushed), with
   * what the scan saw: never recorded as edits; the next pull restores the
   * indexed version from a peer and keeps this content as a conflict copy.
   */
  private readonly unflushed = new Map<string, Observation>();
  /** Deletions waiting for `wizard resume`, and deletions recorded in the last minute ([time, count]). */
  private readonly deletions: DeletionGate;
  /** Downloads in progress, for status. */
  readonly transfers: TransferBook;
  private readonly timers = new Set<() => void>();
  /** Reports a failure the folder cannot carry on from (its supervisor stops and restarts it). */
  private crash: ((err: unknown) => void) | undefined;

  constructor(private readonly deps: FolderDeps) {
    // Every queued download listens for the folder stopping, and a burst queues thousands: that is the design, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.trash = new Trash(deps.root, deps.trashClock ?? deps.clock);
    this.deletions = new DeletionGate(deps.deletionBudget, deps.clock);
    this.transfers = new TransferBook(() => deps.clock.now());
    this.watcher = new FolderWatcher({
      root: deps.root,
      clock: deps.clock,
      monotonicMs: deps.monotonicMs,
      debounceMs: () => deps.limits().debounceMs,
      onChanges: (paths, settled) => {
        // Our own temp files come and go with every download; there is nothing to record about them.
        const wanted = paths.filter((p) => !isAlwaysIgnored(p) && (settled || !this.ownEcho(p)));
        if (wanted.length > 0) this.queueScan(wanted, settled);
      },
      onError: (err) => {
        deps.log.warn({ err }, 'watcher error; rescanning the whole folder');
        this.queueScan(['']);
      },
      // Logged when it starts and when it ends, not once per dir: the limit can refuse thousands.
      onWatchProblem: (problem) => {
        if (problem === undefined) deps.log.info('every dir of the folder is watched again; polling stopped');
        else deps.log.warn(problem);
      },
      ...(deps.watchDir === undefined ? {} : { watchDir: deps.watchDir }),
    });
  }

  get id(): string {
    return this.deps.id;
  }

  /** Absolute path of the folder on disk. */
  get root(): string {
    return this.deps.root;
  }

  /**
   * Checks the folder is intact, scans it, starts watching and pulling.
   * `onCrash` hears of a failure the folder cannot go on from once started
   * (the index cannot be written): its supervisor then restarts it.
   */
  async start(onCrash?: (err: unknown) => void): Promise<void> {
    if (onCrash !== undefined) this.crash = onCrash;
    if (!(await this.prepareRoot()) || this.lifecycle === 'stopped') return;
    this.lifecycle = 'starting';
    // Pulls wait for the first scan: deciding against an index that has not yet seen the edits
    // made while Wizard was down would treat them as absent.
    await this.scan(['']);
    this.afterRestart = false;
    if (this.lifecycle !== 'starting') return;
    this.lifecycle = 'running';
    // What cannot be watched is polled; watcher.problem() says so in status.
    await this.watcher.start();
    if (!this.started) this.schedulePeriodicRescan();
    this.started = true;
    this.requestPull();
  }

  /** Stops watching, scanning and pulling. In-flight disk operations finish or roll back on their own. */
  async stop(): Promise<void> {
    this.lifecycle = 'stopped';
    this.abort.abort(new WizardError('CLOSED', 'folder stopped'));
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    await this.watcher.stop();
    await this.scanning.catch(() => undefined);
    await Promise.allSettled([...this.hashingApart.values()]);
    // A download is aborted, but a landing under way renames and records: a new Folder on this
    // root (a restart after a crash) must not scan while this one still does. Bounded, as a block
    // request a wedged peer never answers ends only with its link.
    let cancel: (() => void) | undefined;
    await Promise.race([
      Promise.allSettled([...this.handOffs]),
      new Promise<void>((resolve) => (cancel = this.deps.clock.setTimer(STOP_WAIT_MS, resolve))),
    ]);
    cancel?.();
  }

  /**
   * Peers' index changed, or a peer connected: see whether there is something
   * to pull. With `paths`, only those are decided again (an index update names
   * what it changed); without, every path a peer differs on.
   */
  requestPull(paths?: Iterable<string>): void {
    if (paths === undefined) this.pullAll = true;
    else for (const p of paths) this.pullPaths.add(p);
    this.pullRequested = true;
    if (this.pulling || this.lifecycle !== 'running') return;
    this.pulling = true;
    void this.runPulls()
      .catch((err: unknown) => {
        if (isIndexWriteFailure(err)) this.indexWriteFailed(err);
        else this.deps.log.error({ err }, 'pull loop failed');
      })
      .finally(() => {
        this.pulling = false;
      });
  }

  /** Answers a peer's block request. */
  readBlock(req: { path: string; hash: string; offset: number; length: number }): Promise<Buffer> {
    return readBlock(this.deps.root, this.deps.store.getLocal(this.deps.id, req.path), req);
  }

  /** Answers a peer's block sums request. */
  readSums(req: { path: string; hash: string; blockSize: number; first: number; count: number; group: number }): Promise<WireSums> {
    const { root, store, id, runner } = this.deps;
    return readSums(root, store.getLocal(id, req.path), req, store.sums.get(id, req.path, req.hash), runner);
  }

  /** Whether a path is ignored here (peers' entries for it are neither pulled nor counted). */
  isIgnored(rel: string): boolean {
    return isAlwaysIgnored(rel) || rel === FOLDER_IGNORE || (this.matcher?.isIgnored(rel, false) ?? false);
  }

  /** Status for `wizard status`. */
  status(): FolderStatus {
    const stats = this.deps.store.localStats(this.deps.id);
    let outOfSync = 0;
    for (const peer of this.deps.peers.connected()) {
      outOfSync += this.deps.store.countOutOfSync(this.deps.id, peer, (p) => this.isIgnored(p));
    }
    const state = this.state;
    const busy = state !== 'idle';
    const watchProblem = this.lifecycle === 'running' ? this.watcher.problem() : undefined;
    return {
      id: this.deps.id,
      path: this.deps.root,
      state,
      ...(this.haltReason === undefined ? {} : { haltReason: this.haltReason }),
      files: stats.files,
      bytes: stats.bytes,
      inSync: !busy && outOfSync === 0 && this.deletions.held === undefined,
      pending: Math.max(outOfSync, this.handedOff.size),
      heldDeletions: this.deletions.held?.count ?? 0,
      bytesLeft: Math.max(0, this.plannedBytes - this.transfers.list().reduce((n, t) => n + t.bytesDone, 0)),
      ...(watchProblem === undefined ? {} : { watchProblem }),
    };
  }

  /** What the folder is doing now. */
  get state(): FolderState {
    if (this.lifecycle !== 'running') return this.lifecycle;
    if (this.scansRunning > 0 || this.hashingApart.size > 0) return 'scanning';
    return this.pulling || this.handedOff.size > 0 ? 'syncing' : 'idle';
  }

  /** Why changes at `rel` are found by polling rather than as they happen; undefined when it is watched. */
  pollReason(rel: string): string | undefined {
    return this.lifecycle === 'running' && this.watcher.isPolled(rel) ? this.watcher.problem() : undefined;
  }

  /** Why a path last failed to sync and when it is tried again, for `status --why`. */
  failureOf(rel: string): { attempts: number; nextAt: number; error: string } | undefined {
    return this.failures.state(rel);
  }

  /** Errors worth showing the user: paths that keep failing. */
  errors(): string[] {
    const h = this.deletions.held;
    const held = h === undefined ? [] : [`${this.deps.id}: ${h.count} deletions held (${h.reason}); run 'wizard resume ${this.deps.id}' to apply them`];
    const unreadable = this.readFailures.describe().map((line) => `${this.deps.id}/${line} (cannot read it here; retrying)`);
    const ignoreFile = this.ownIgnoreProblem === undefined ? [] : [`${this.deps.id}: ${this.ownIgnoreProblem}`];
    const unflushed = [...this.unflushed.keys()].map(
      (p) =>
        `${this.deps.id}/${p}: it shrank but its modification time did not change (data lost in a crash or power cut?); not sent to peers: the recorded version is restored from a peer and this content kept as a conflict copy`,
    );
    return [...held, ...ignoreFile, ...this.failures.describe().map((line) => `${this.deps.id}/${line}`), ...unreadable, ...unflushed];
  }

  // ---- root and marker -------------------------------------------------------------------

  /**
   * A folder that has synced before must still have its root and marker: an
   * unmounted disk or a deleted folder looks exactly like "the user deleted
   * everything", and propagating that would delete every peer's copy too.
   * A folder that never synced gets its root and marker created.
   */
  private async prepareRoot(): Promise<boolean> {
    const known = this.deps.store.localStats(this.deps.id);
    const hasHistory = known.files + known.dirs + known.tombstones > 0;
    const problem = await this.integrityProblem();
    if (problem !== undefined && hasHistory) {
      this.halt(problem);
      return false;
    }
    if (problem !== undefined) {
      await mkdir(path.join(this.deps.root, MARKER_DIR), { recursive: true });
      await writeFile(path.join(this.deps.root, MARKER_DIR, 'folder'), `${this.deps.id}\n`);
    }
    this.haltReason = undefined;
    return true;
  }

  private integrityProblem(): Promise<string | undefined> {
    return integrityProblem(this.deps.root);
  }

  private halt(reason: string): void {
    if (this.lifecycle !== 'halted') this.deps.log.error({ reason }, 'folder halted to protect data');
    this.lifecycle = 'halted';
    this.haltReason = reason;
    this.after(HALT_RECHECK_MS, () => {
      void this.resumeIfIntact();
    });
  }

  private async resumeIfIntact(): Promise<void> {
    if (this.lifecycle !== 'halted') return;
    if ((await this.integrityProblem()) !== undefined) {
      this.after(HALT_RECHECK_MS, () => void this.resumeIfIntact());
      return;
    }
    this.deps.log.info('folder intact again; resuming');
    this.haltReason = undefined;
    // A watch on a root that vanished and came back reports nothing more: subscribe again.
    await this.watcher.stop();
    await this.start().catch((err: unknown) => this.deps.log.error({ err }, 'resume failed'));
  }

  // ---- scanning ----------------------------------------------------------------------------

  /**
   * Queues a scan of `paths` behind any running one. With `mayDelete` false
   * the scan records what appeared or changed there but not what vanished:
   * the watcher's early hand-over (see coalescer.ts), where a vanished path
   * may be half of a rename or one file of a mass deletion still under way.
   * The watcher hands the same paths over again once the folder settles.
   */
  queueScan(paths: string[], mayDelete = true): void {
    this.scan(paths, mayDelete).catch((err: unknown) => {
      if (isIndexWriteFailure(err)) this.indexWriteFailed(err);
      else this.deps.log.error({ err }, 'scan failed');
    });
  }

  /** Queues a scan that could not run yet again, keeping which of its paths may record deletions. */
  private queueScanAgain(paths: string[], deletable: string[]): void {
    const rest = paths.filter((p) => !deletable.includes(p));
    if (deletable.length > 0) this.queueScan(deletable);
    if (rest.length > 0) this.queueScan(rest, false);
  }

  /**
   * The index could not be written (disk full, I/O error). The transaction
   * rolled back, so the index still holds its last good state, but nothing
   * this folder scans or pulls can be recorded: carrying on would leave
   * changes unrecorded until the next periodic rescan, and files renamed into
   * place that the index does not know. The folder stops and its supervisor
   * restarts it with backoff; the restart's full scan records what was missed.
   */
  private indexWriteFailed(err: unknown): void {
    if (this.lifecycle === 'stopped') return;
    this.deps.log.error({ err: describeError(err) }, 'cannot write the index (disk full or I/O error); restarting this folder once the index can be written again');
    if (this.crash === undefined) return;
    const crash = this.crash;
    this.crash = undefined;
    crash(new WizardError('INTERNAL', `cannot write the index: ${describeError(err)}; free some space in the Wizard home (or check its disk), the folder restarts by itself`, { cause: err }));
  }

  /**
   * Adds `paths` to the next scan and resolves when it has run. Requests that
   * arrive while a scan runs are merged into one follow-up scan, so a burst
   * of watcher events during a long scan costs one more pass, not one each.
   */
  private scan(paths: string[], mayDelete = true): Promise<void> {
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
        return this.scanNow(batch, deletable);
      });
    this.scanning = this.nextScan;
    return this.nextScan;
  }

  private async scanNow(paths: string[], deletable: string[]): Promise<void> {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'halted') return;
    const startedAt = this.deps.monotonicMs();
    const problem = await this.integrityProblem();
    if (problem !== undefined) {
      this.halt(problem);
      return;
    }
    this.scansRunning++;
    try {
      const rulesChanged = await this.refreshMatcher();
      if (rulesChanged === undefined) {
        // No ignore rules known yet: a scan now would record, and send, what they exclude.
        this.scansHeld = true;
        this.after(HALT_RECHECK_MS, () => this.queueScanAgain(paths, deletable));
        return;
      }
      // New ignore rules can un-ignore paths anywhere, and held scans may have been of anything: only a whole-folder scan finds them.
      const roots = rulesChanged || this.scansHeld ? [''] : minimalRoots(paths);
      this.scansHeld = false;
      const deletionRoots = minimalRoots(deletable);
      const mayDelete = (p: string) => deletionRoots.some((r) => isUnder(p, r));
      const committed: string[] = [];
      // Deletions are recorded last, after every root: a file moved away is a deletion plus a new
      // file that still has to be hashed, and a peer that heard of the deletion first would trash
      // its copy and then download the "new" file whole instead of moving it.
      const deletions: Array<[Candidate, Recorded]> = [];
      await this.deletions.during(deletionRoots.includes(''), async () => {
        // Side by side: a watcher hand-over can name thousands of files, each a few file-system calls
        // whose latency (a busy disk, a busy libuv pool) would otherwise add up one after another.
        const walkLimit = pLimit(SCAN_LOOKS_AT_ONCE);
        const found = (await Promise.all(roots.map((rel) => walkLimit(() => this.changesUnderOrRetry(rel, mayDelete))))).flat();
        committed.push(...(await this.recordChanges(found, deletions)));
        committed.push(...(await this.commitScanned(deletions)));
      });
      this.deps.log.debug({ roots: roots.slice(0, 20), rootCount: roots.length, committed: committed.length, first: committed.slice(0, 5), ms: Math.round(this.deps.monotonicMs() - startedAt) }, 'scanned');
      if (committed.length > 0) this.deps.peers.announce();
      // A local change can settle what a pull was waiting for (or supersede it); a whole-folder
      // scan (the first, or new ignore rules) may have made any path pullable.
      this.requestPull(roots.includes('') ? undefined : committed);
    } finally {
      this.scansRunning--;
    }
  }

  /**
   * Recompiles the ignore rules when either list changed; true when rules
   * already in use changed, undefined when a list cannot be read and none was
   * ever in force (an unreadable list keeps the last good one otherwise).
   */
  private async refreshMatcher(): Promise<boolean | undefined> {
    const master = this.deps.masterIgnore();
    const own = await this.readOwnIgnore();
    if (master === undefined || own === undefined) return this.matcher === undefined ? undefined : false;
    const source = `${master}\0${own}`;
    if (this.matcher !== undefined && source === this.matcherSource) return false;
    const hadRules = this.matcher !== undefined;
    this.matcher = compileIgnore([
      { text: master, base: '' },
      { text: own, base: '' },
    ]);
    this.matcherSource = source;
    return hadRules;
  }

  /**
   * The folder's `.wizardignore` text: '' when there is none. One that cannot
   * be read (a dir now, EACCES, EIO) keeps the last good text: reading it as
   * empty would un-ignore everything and send ignored files to the peers.
   */
  private async readOwnIgnore(): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(path.join(this.deps.root, FOLDER_IGNORE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        text = '';
      } else {
        const keeps = this.ownIgnore === undefined ? 'nothing is scanned until it can be read' : 'the last good rules stay in force';
        const problem = `cannot read ${FOLDER_IGNORE}: ${describeError(err)}; ${keeps}`;
        if (problem !== this.ownIgnoreProblem) this.deps.log.warn(problem);
        this.ownIgnoreProblem = problem;
        return this.ownIgnore;
      }
    }
    if (this.ownIgnoreProblem !== undefined) this.deps.log.info(`${FOLDER_IGNORE} can be read again`);
    this.ownIgnoreProblem = undefined;
    this.ownIgnore = text;
    return text;
  }

  /**
   * changesUnder, except that a path that cannot be looked at (EACCES or EIO
   * on a dir above it) is retried on its own with backoff, instead of failing
   * the scan of every other path handed over with it. Nothing under it is
   * taken as deleted meanwhile.
   */
  private async changesUnderOrRetry(rel: string, mayDelete: (path: string) => boolean): Promise<Candidate[]> {
    try {
      const found = await this.changesUnder(rel, mayDelete);
      this.readFailures.succeed(rel);
      return found;
    } catch (err) {
      if (this.abort.signal.aborted) throw err;
      const delay = this.readFailures.fail(rel, err, this.deps.clock.now());
      this.deps.log.warn({ path: rel, err: describeError(err), retryInMs: delay }, 'cannot scan path; will retry');
      this.after(delay, () => this.queueScan([rel], mayDelete(rel)));
      return [];
    }
  }

  /** Walks one subtree: what changed there since the index last looked, with deletions `mayDelete` allows and the gate admits only. */
  private async changesUnder(rel: string, mayDelete: (path: string) => boolean): Promise<Candidate[]> {
    const { root, store, id } = this.deps;
    const matcher = this.matcher as IgnoreMatcher;
    // A pull may land (or delete) paths here while the walk runs; the walk may have listed a dir
    // before a landing's rename, and would take the new entry for a file gone (see below).
    const walkStartedAt = store.folderState(id).maxSequence;
    const result = await walk(root, rel, {
      matcher,
      isInternal: (p) => isAlwaysIgnored(p) || p === FOLDER_IGNORE,
      signal: this.abort.signal,
      ...(this.deps.readDir === undefined ? {} : { readDir: this.deps.readDir }),
    });
    for (const s of result.skipped) this.deps.log.warn({ path: s.path, reason: s.reason }, 'not syncing path');
    if (result.temps.length > 0) {
      const removed = await removeStaleTemps(root, result.temps, { afterRestart: this.afterRestart && rel === '', nowMs: this.deps.clock.now() });
      if (removed.length > 0) this.deps.log.info({ count: removed.length, first: removed[0] }, 'removed temp files left by interrupted downloads');
    }
    const known = new Map(store.localUnder(id, rel).map((e) => [e.path, e]));
    const stats = store.localStats(id);
    // An entry recorded during the walk was recorded by whoever looked at the disk for it (a
    // landing, a scan beside this one): what this walk saw of that path may predate it. Counted
    // as deletions, a burst of downloads landing in a dir being walked held them as "most of
    // the folder vanished", waiting for a `wizard resume` that had nothing to confirm.
    const changed = changedPaths(result.seen, known, result.unreadable, (p, isDir) => this.isIgnored(p) || matcher.isIgnored(p, isDir)).filter(
      (c) => c.prev === undefined || c.prev.sequence <= walkStartedAt,
    );
    const candidates = this.deletions.admit(
      changed.filter((c) => c.obs !== undefined || mayDelete(c.path)),
      stats.files + stats.dirs,
      (held) => this.deps.log.warn({ deletions: held.count, reason: held.reason }, `deletions held until 'wizard resume ${id}'`),
    );
    return this.setAsideUnflushed(rel, candidates);
  }

  /**
   * Takes files that look unflushed after a power cut out of `candidates`
   * (recording them would bump their version and send truncated content over
   * the peers' good copy) and has a pull restore them. Paths under `rel` that
   * no longer look so are forgotten: an edit since is an ordinary change.
   */
  private setAsideUnflushed(rel: string, candidates: Candidate[]): Candidate[] {
    const now = this.deps.clock.now();
    const kept: Candidate[] = [];
    const found: string[] = [];
    for (const c of candidates) {
      if (c.obs !== undefined && looksUnflushed(c, now)) {
        if (this.unflushed.get(c.path)?.size !== c.obs.size) {
          this.deps.log.warn(
            { path: c.path, indexedSize: c.prev?.size, diskSize: c.obs.size, mtimeMs: c.obs.mtimeMs },
            'file changed size without a new modification time, as after a power cut that lost its data; not syncing it: restoring the recorded version from a peer and keeping this content as a conflict copy',
          );
        }
        this.unflushed.set(c.path, c.obs);
        found.push(c.path);
      } else kept.push(c);
    }
    for (const p of [...this.unflushed.keys()]) if (isUnder(p, rel) && !found.includes(p)) this.unflushed.delete(p);
    if (found.length > 0) this.requestPull(found);
    return kept;
  }

  /**
   * Hashes and records `candidates`, but for deletions, which it adds to
   * `deletions`. Returns the paths committed. Each file is committed soon
   * after it is hashed, in batches, and small files are hashed first: a big
   * file still hashing holds back neither the small files found with it nor
   * the peers waiting for them.
   */
  private async recordChanges(found: readonly Candidate[], deletions: Array<[Candidate, Recorded]>): Promise<string[]> {
    // A big file is hashed apart, so this scan (and the next, which waits for it) need not: but not
    // when the scan records deletions, which must follow every new file (a move is both; see `scan`).
    const apart = found.some((c) => c.obs === undefined) ? [] : found.filter((c) => c.obs?.type === 'file' && c.obs.size >= HASH_APART_BYTES);
    for (const c of apart) this.hashApart(c);
    const candidates = found
      .filter((c) => !apart.includes(c) && !(c.obs?.type === 'file' && this.hashingApart.has(c.path)))
      .sort((x, y) => sizeOf(x) - sizeOf(y));
    const limit = pLimit(this.deps.limits().hashers);
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
        if (paths.length > 0) this.deps.peers.announce();
      });
      return flushing;
    };
    // A failed commit surfaces from the last flush below; these only start batches early.
    const flushSoon = (): void => void flush().catch(() => undefined);
    await Promise.all(
      candidates.map((c) =>
        limit(async () => {
          const got = await this.record(c);
          if (got === undefined) return;
          if (got.entry.deleted) return void deletions.push([c, got]);
          ready.push([c, got]);
          if (ready.length >= COMMIT_BATCH) flushSoon();
          else cancelTimer ??= this.deps.clock.setTimer(COMMIT_DELAY_MS, flushSoon);
        }),
      ),
    );
    await flush();
    return committed;
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
      if (got === undefined || this.lifecycle === 'stopped') return;
      const committed = await this.commitScanned([[c, got]]);
      if (committed.length === 0) return;
      this.deps.peers.announce();
      this.requestPull(committed);
    })()
      .catch((err: unknown) => {
        if (isIndexWriteFailure(err)) this.indexWriteFailed(err);
        else this.deps.log.error({ err, path: c.path }, 'hashing failed');
      })
      .finally(() => this.hashingApart.delete(c.path));
    this.hashingApart.set(c.path, run);
  }

  /** Records scanned changes in one transaction, each only if neither the index nor the disk moved since it was looked at. */
  private commitScanned(batch: ReadonlyArray<[Candidate, Recorded]>): Promise<string[]> {
    const { root, store, id } = this.deps;
    if (batch.length === 0) return Promise.resolve([]);
    return this.lock.run(async () => {
      const changes: Array<Omit<LocalEntry, 'sequence'>> = [];
      const sums: Array<[string, string, Signature]> = [];
      // Commit only if nothing moved since we looked: neither the index (a pull landed) nor the disk (a new write).
      const unmoved = batch.filter(([c]) => store.getLocal(id, c.path)?.sequence === c.prev?.sequence);
      // Looked at side by side: with the lock held, a batch of hundreds must not cost hundreds of hops in a row.
      const lookLimit = pLimit(SCAN_LOOKS_AT_ONCE);
      const disks = await Promise.all(unmoved.map(([c]) => lookLimit(() => observe(root, c.path))));
      for (const [i, [c, got]] of unmoved.entries()) {
        const disk = disks[i];
        if (!sameObservation(disk, c.obs)) {
          this.queueScanLater(c.path);
          continue;
        }
        changes.push(got.entry);
        if (got.sums !== undefined) sums.push([got.entry.path, got.entry.hash, got.sums]);
      }
      store.atomically(() => {
        this.commitEntries(changes);
        for (const [p, hash, sig] of sums) store.sums.put(id, p, hash, sig);
      });
      return changes.map((e) => e.path);
    });
  }

  /** The user confirmed held deletions (`wizard resume`): a full scan records them now. Returns how many were held. */
  confirmDeletions(): number {
    const count = this.deletions.confirm();
    this.queueScan(['']);
    return count;
  }

  /**
   * The entry to record for a changed path, with the block sums of a big
   * file (hashed in a worker thread), or undefined when there is nothing to record after all.
   */
  private async record(c: Candidate): Promise<Recorded | undefined> {
    if (c.obs?.type !== 'file') {
      this.readFailures.succeed(c.path);
      this.freshRetries.delete(c.path);
      const entry = entryFor(c, '', this.deps.localId, this.deps.clock.now());
      if (entry === undefined) return undefined;
      const theirs = c.prev === undefined && c.obs?.type === 'dir' ? this.peersDirVersion(c.path, c.obs.mode) : undefined;
      return { entry: theirs === undefined ? entry : { ...entry, version: theirs } };
    }
    // Judged now, just before the read, not when the walk saw the file: a write after this point
    // in the tick of the observed mtime is impossible, however long ago the walk began.
    const wait = tooFreshToHash(this.deps.clock.now(), c.obs.mtimeMs);
    if (wait > 0) {
      // Only to hash it then: a deletion is for the watcher's settled hand-over to report. A file
      // written without pause (a log) is fresh every time: back off, up to the watcher's 2 s.
      const tries = this.freshRetries.get(c.path) ?? 0;
      this.freshRetries.set(c.path, tries + 1);
      this.after(Math.min(FRESH_RETRY_MAX_MS, wait * 2 ** tries), () => this.queueScan([c.path], false));
      return undefined;
    }
    this.freshRetries.delete(c.path);
    try {
      const { hash, sums } = await hashFile(this.deps.runner, path.join(this.deps.root, ...c.path.split('/')), c.obs, this.priorSums(c));
      this.readFailures.succeed(c.path);
      const entry = entryFor(c, hash, this.deps.localId, this.deps.clock.now());
      if (entry === undefined) return undefined;
      return sums === undefined ? { entry } : { entry, sums };
    } catch (err) {
      // CHANGED: a file being written right now; look again once it settles.
      if (hasCode(err, 'CHANGED')) {
        this.deps.log.debug({ path: c.path }, 'changed during hashing; hashing again once it settles');
        this.queueScanLater(c.path);
        return undefined;
      }
      // Unreadable (permissions, I/O error): back off per path, so one bad file neither spins nor stalls the rest.
      const delay = this.readFailures.fail(c.path, err, this.deps.clock.now());
      this.deps.log.warn({ path: c.path, err: describeError(err), retryInMs: delay }, 'cannot read file; will retry');
      this.after(delay, () => this.queueScan([c.path]));
      return undefined;
    }
  }

  /**
   * The version to give a dir that is new to our index when peers have the
   * same dir (same mode): theirs, merged, not a new one of ours. Such a dir is
   * no change of ours: most often a parent our own download made before the
   * dir's entry arrived. A version of our own would be concurrent with
   * theirs, and a deletion on our side that came before the merge of the two
   * would then lose to their copy and bring the dir back.
   */
  private peersDirVersion(rel: string, mode: number): VersionVector | undefined {
    const same = this.deps.store.remotesFor(this.deps.id, rel).filter((r) => r.entry.type === 'dir' && !r.entry.deleted && r.entry.mode === mode);
    return same.length === 0 ? undefined : same.map((r) => r.entry.version).reduce(merge);
  }

  /** Stored sums of the version a changed file replaces (they spare the weak sums of its unchanged blocks). */
  private priorSums(c: Candidate): Signature | undefined {
    const prev = c.prev;
    if (prev === undefined || prev.deleted || prev.type !== 'file' || prev.hash === '') return undefined;
    return this.deps.store.sums.get(this.deps.id, c.path, prev.hash);
  }

  private queueScanLater(rel: string): void {
    this.after(Math.max(this.deps.limits().debounceMs, 100), () => this.queueScan([rel]));
  }

  private schedulePeriodicRescan(): void {
    this.after(this.deps.rescanIntervalMs(), () => {
      this.expireTombstones().catch((err: unknown) => {
        if (isIndexWriteFailure(err)) this.indexWriteFailed(err);
        else this.deps.log.error({ err }, 'tombstone expiry failed');
      });
      this.queueScan(['']);
      this.schedulePeriodicRescan();
    });
  }

  /** Forgets deletions older than `tombstoneDays` (see expiredTombstones for what that means for a returning peer). */
  private async expireTombstones(): Promise<void> {
    const { store, id } = this.deps;
    await this.lock.run(() => {
      const expired = expiredTombstones(store.allLocal(id), this.deps.clock.now(), this.deps.tombstoneDays());
      if (expired.length === 0) return;
      store.forgetLocal(id, expired);
      this.deps.log.info({ count: expired.length }, 'forgot expired deletions');
    });
  }

  // ---- pulling -----------------------------------------------------------------------------

  private async runPulls(): Promise<void> {
    while (this.pullRequested && this.lifecycle === 'running') {
      this.pullRequested = false;
      const all = this.pullAll;
      const only = [...this.pullPaths];
      this.pullAll = false;
      this.pullPaths.clear();
      await this.pullRound(all ? undefined : only);
    }
  }

  /**
   * Decides `only` those paths, or every path a peer has news for, except
   * those a hand-off still holds (they are decided again when it ends). Merges and dirs are quick and local, so the round does them itself,
   * parents first; files and deletions are handed off (see `handOff`) and the
   * round does not wait for them, so a file that appears while a big one
   * downloads is started at once instead of after it.
   */
  private async pullRound(only?: readonly string[]): Promise<void> {
    const { store, id } = this.deps;
    const connected = new Set(this.deps.peers.connected());
    // Until ignore rules are known, ignored paths cannot be told apart: the next scan asks for a pull.
    if (connected.size === 0 || this.matcher === undefined) return;
    const problem = await this.integrityProblem();
    if (problem !== undefined) {
      this.halt(problem);
      return;
    }
    const paths = new Set<string>(only);
    if (only === undefined) for (const peer of connected) for (const e of store.remoteDiffering(id, peer)) paths.add(e.path);
    if (only === undefined) for (const p of this.unflushed.keys()) paths.add(p);

    const now = this.deps.clock.now();
    const wanted: string[] = [];
    for (const p of paths) {
      if (this.handedOff.has(p)) this.skipped.add(p);
      else if (!this.isIgnored(p) && !this.failures.isWaiting(p, now)) wanted.push(p);
    }
    const basedOn = new Map<string, number>();
    const plan = planPull(
      wanted,
      (p) => {
        const local = store.getLocal(id, p);
        basedOn.set(p, local?.sequence ?? 0);
        const remotes = store.remotesFor(id, p);
        const decided = reconcile(local, remotes);
        const final = local !== undefined && this.unflushed.has(p) ? restoreDecision(decided, local, remotes) : decided;
        // In sync now (a scan recorded what the failed pull was for, or a peer moved on): nothing is failing any more.
        if (final.kind === 'none') this.failures.succeed(p);
        return final;
      },
      connected,
    );
    if (planSize(plan) === 0) return;
    this.deps.log.debug(
      { decided: wanted.length, merges: plan.merges.length, dirs: plan.dirs.length, files: plan.files.length, deletes: plan.deletes.length, inFlight: this.handedOff.size },
      'pull round',
    );
    const ctx = this.pullContext();
    const opts = (p: string, d: { replacesConcurrent: boolean }) => ({ ...this.takeOptions(p, d), basedOn: basedOn.get(p) ?? 0 });
    let progressed = false;
    for (const [p, d] of plan.merges) progressed = (await this.attempt(p, () => applyMerge(ctx, p, d.version, opts(p, { replacesConcurrent: false })))) || progressed;
    for (const [p, d] of plan.dirs) progressed = (await this.attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources, opts(p, d)))) || progressed;
    if (progressed) this.deps.peers.announce();

    for (const [p, d] of plan.files) {
      const size = d.entry.type === 'file' ? d.entry.size : 0;
      this.plannedBytes += size;
      const download = async (release: () => void): Promise<void> => {
        this.transfers.begin(p, size, d.sources);
        try {
          const started = this.deps.clock.now();
          await applyTake(ctx, d.entry, d.version, d.sources, { ...opts(p, d), onFetched: release });
          this.deps.log.debug({ path: p, bytes: size, ms: this.deps.clock.now() - started }, 'pulled');
        } finally {
          this.transfers.end(p);
        }
      };
      const done = this.handOff([p], () => this.deps.slots.run(size, (release) => this.attempt(p, () => download(release)), this.abort.signal)).finally(() => {
        this.plannedBytes -= size;
      });
      if (d.entry.type === 'file') this.fetching.add(d.entry.hash, done);
    }
    if (plan.deletes.length > 0) {
      // A file being fetched may be built from one of these (a rename: same content, new name),
      // so a deletion waits for the fetches of its content; other deletions go at once, children first.
      const bases = plan.deletes.flatMap(([p]) => this.fetching.of(store.getLocal(id, p)?.hash));
      const paths = plan.deletes.map(([p]) => p);
      void this.handOff(paths, async () => {
        await Promise.allSettled(bases);
        let any = false;
        for (const [p, d] of plan.deletes) any = (await this.attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources, opts(p, d)))) || any;
        return any;
      });
    }
  }

  /**
   * Runs `work` for `paths` beside the pull rounds: later rounds leave the
   * paths alone until it ends, then decide again any that had news meanwhile.
   * When it made progress the peers hear of it.
   */
  private handOff(paths: string[], work: () => Promise<boolean>): Promise<void> {
    const running = this.runHandOff(paths, work);
    this.handOffs.add(running);
    void running.finally(() => this.handOffs.delete(running));
    return running;
  }

  private async runHandOff(paths: string[], work: () => Promise<boolean>): Promise<void> {
    for (const p of paths) this.handedOff.add(p);
    let progressed = false;
    try {
      progressed = await work();
    } catch (err) {
      // Only a queued download whose folder stopped ends here: `attempt` records every other failure.
      if (!hasCode(err, 'CLOSED') && this.lifecycle !== 'stopped') this.deps.log.error({ err: describeError(err) }, 'pull hand-off failed');
    } finally {
      for (const p of paths) this.handedOff.delete(p);
    }
    // A path that had news while this ran is decided now.
    const again = paths.filter((p) => this.skipped.delete(p));
    if (again.length > 0) this.requestPull(again);
    if (progressed) this.followUp();
  }

  /** Tells the peers what hand-offs completed: at most every ANNOUNCE_MS while others run, at once when none is left. */
  private followUp(): void {
    if (this.handedOff.size === 0) {
      this.announcePending = false;
      this.deps.peers.announce();
      return;
    }
    if (this.announcePending) return;
    this.announcePending = true;
    this.after(ANNOUNCE_MS, () => {
      if (!this.announcePending) return;
      this.announcePending = false;
      this.deps.peers.announce();
    });
  }

  /** Carries out one path's action; true when it succeeded, and a failure is recorded for a retry. */
  private async attempt(rel: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      this.failures.succeed(rel);
      // A take replaced a file that looked unflushed (kept as a conflict copy): it is settled.
      this.unflushed.delete(rel);
      return true;
    } catch (err) {
      this.noteFailure(rel, err);
      return false;
    }
  }

  /** A lost concurrent edit of a live file is kept as a conflict copy named after its author. */
  private takeOptions(rel: string, d: { replacesConcurrent: boolean }): TakeOptions {
    const torn = this.unflushed.get(rel);
    // What looks like a power cut's leftovers is replaced only while it is exactly that, and kept beside as a conflict copy.
    if (torn !== undefined) return { acceptDisk: torn, keepLocalAs: conflictName(rel, this.deps.clock.now(), this.deps.localId) };
    const local = this.deps.store.getLocal(this.deps.id, rel);
    if (!d.replacesConcurrent || local === undefined || local.deleted || local.type === 'dir') return {};
    return { keepLocalAs: conflictName(rel, this.deps.clock.now(), lastModifier(local.version)) };
  }

  private pullContext(): PullContext {
    const { store, id, root } = this.deps;
    return {
      root,
      trash: this.trash,
      readBlock: async (peer, req) => {
        const data = await this.deps.peers.readBlock(peer, req);
        this.transfers.add(req.path, data.length);
        return data;
      },
      readSums: this.deps.peers.readSums,
      runner: this.deps.runner,
      commitSums: (rel, hash, sums) => store.sums.put(id, rel, hash, sums),
      storedSums: (rel, hash) => store.sums.get(id, rel, hash),
      onDeltaFallback: (rel, err) => this.deps.log.warn({ path: rel, err: describeError(err) }, 'delta transfer unusable; downloading the whole file'),
      getLocal: (rel) => store.getLocal(id, rel),
      findByHash: (hash) => store.localWithHash(id, hash),
      locked: (fn) => this.lock.run(fn),
      commit: (entries) => this.commitPulled(entries),
      landing: this.landing,
      created: (rel) => this.queueScan([rel]),
      signal: this.abort.signal,
    };
  }

  /** Records what a pull put on disk, remembering when, so the watcher's echo of it can be told apart. */
  private commitPulled(entries: Array<Omit<LocalEntry, 'sequence'>>): void {
    this.commitEntries(entries);
    const now = this.deps.monotonicMs();
    for (const e of entries) {
      this.landedAt.delete(e.path);
      this.landedAt.set(e.path, now);
    }
  }

  /**
   * Whether a watcher event for `rel` is most likely the echo of a pull that
   * just landed there. An early hand-over (see coalescer.ts) skips those: a
   * burst of pulls would otherwise cost a scan per file that finds nothing to
   * record. Nothing is lost: the settled hand-over scans every path again.
   */
  private ownEcho(rel: string): boolean {
    const now = this.deps.monotonicMs();
    for (const [p, at] of this.landedAt) {
      if (now - at <= OWN_ECHO_MS) break;
      this.landedAt.delete(p);
    }
    return this.landedAt.has(rel);
  }

  /** Records entries, dropping the stored block sums of paths that are no longer live files. */
  private commitEntries(entries: Array<Omit<LocalEntry, 'sequence'>>): void {
    const { store, id } = this.deps;
    store.atomically(() => {
      store.commitLocal(id, entries);
      for (const e of entries) if (e.deleted || e.type !== 'file') store.sums.delete(id, e.path);
    });
  }

  private noteFailure(rel: string, err: unknown): void {
    if (hasCode(err, 'CLOSED')) return;
    // Not this path's fault: no path can be recorded until the index can be written.
    if (isIndexWriteFailure(err)) return this.indexWriteFailed(err);
    const changed = hasCode(err, 'CHANGED');
    // The disk has news: record it first, then this path is decided again. Still counted, so a path
    // that keeps looking changed (a dir that holds ignored files, say) backs off instead of spinning.
    if (changed) this.queueScan([rel]);
    const delay = this.failures.fail(rel, err, this.deps.clock.now(), changed ? 250 : 1000);
    const attempts = this.failures.attempts(rel);
    if (!changed || attempts > 3) {
      this.deps.log.warn({ path: rel, attempts, retryInMs: delay, err: describeError(err) }, 'sync of path failed; will retry');
    }
    this.after(delay, () => this.requestPull([rel]));
  }

  private after(ms: number, fn: () => void): void {
    if (this.lifecycle === 'stopped') return;
    const cancel = this.deps.clock.setTimer(ms, () => {
      this.timers.delete(cancel);
      fn();
    });
    this.timers.add(cancel);
  }
}
