/**
 * One synced folder: keeps its index in step with the disk (scans, watcher)
 * and the disk in step with its peers (pull rounds). The decisions are made by
 * the pure `reconcile`; the disk work by the puller; this file sequences them.
 *
 * It is the coordinator: it owns the folder's lifecycle (start, stop, halted
 * while its root or marker is missing), the state its parts share, and the
 * answers to status. The jobs are its parts, each given what it uses: the
 * scans (scan-queue.ts, scan-pass.ts, change-recorder.ts), the watcher
 * (watched-changes.ts), the pulls (pull-loop.ts, hand-offs.ts,
 * landed-paths.ts), the ignore rules (ignore-rules.ts), the periodic rescan
 * (periodic-rescan.ts) and the guard on its root (root-guard.ts); what they
 * ask of the folder itself is folder-control.ts.
 */
import { setMaxListeners } from 'node:events';
import { describeError, WizardError } from '../core/errors.js';
import { Mutex } from '../core/mutex.js';
import type { FolderMode } from '../config/schema.js';
import type { LocalEntry } from '../index/entry.js';
import { isIndexWriteFailure } from '../index/store.js';
import type { Observation } from '../index/scanner.js';
import { DiskNames } from '../index/disk-names.js';
import { FolderWatcher } from '../index/watcher.js';
import { FolderServing } from './serve/folder-serving.js';
import { RetryBook } from './pull/retry.js';
import { DeletionGate, type HeldPath } from './deletions/deletion-gate.js';
import { HALT_RECHECK_MS, RootGuard } from './deletions/root-guard.js';
import { TransferBook } from './pull/transfers.js';
import { Trash } from './trash/trash.js';
import { recoverPatches } from './patch/recover.js';
import { rehashStale } from './scan/rehash.js';
import { FolderIgnoreRules } from './scan/ignore-rules.js';
import { ScanQueue } from './scan/scan-queue.js';
import { ScanPass } from './scan/scan-pass.js';
import { ChangeRecorder } from './scan/change-recorder.js';
import { HandOffs } from './pull/hand-offs.js';
import { LandedPaths } from './pull/landed-paths.js';
import { PullLoop } from './pull/pull-loop.js';
import { PeriodicRescan } from './scan/periodic-rescan.js';
import { watchFolder } from './scan/watched-changes.js';
import type { FolderControl, FolderLifecycle } from './folder-control.js';
import { SkippedPaths } from './scan/skipped-paths.js';
import { modeActionDeps, overrideFolder, revertFolder, type ModeActionDeps } from './mode-actions.js';
import { folderErrors, folderStatus, type FolderState, type FolderStatus } from './folder-report.js';
import type { FolderDeps } from './folder-deps.js';

/** Longest `stop` waits for pulls under way to land or give up. */
const STOP_WAIT_MS = 10_000;

/** One synced folder. */
export class Folder {
  /** Lifecycle; what the folder is doing while running is derived from the scans and the pulls. */
  private lifecycle: FolderLifecycle = 'starting';
  private readonly rootGuard: RootGuard;
  private readonly lock = new Mutex();
  private readonly trash: Trash;
  private readonly watcher: FolderWatcher;
  private readonly abort = new AbortController();
  private readonly ignore: FolderIgnoreRules;
  private readonly scans: ScanQueue;
  private readonly scanPass: ScanPass;
  private readonly recorder: ChangeRecorder;
  private readonly landed: LandedPaths;
  private readonly handOffs: HandOffs;
  private readonly pulls: PullLoop;
  private readonly rescans: PeriodicRescan;
  /**
   * No whole-folder scan has run since this folder was made (a process start, or a restart after
   * a crash): the temp files found were left by downloads that are dead or aborted, so the ones no
   * download can reuse go. (An aborted one still finishing would only fail its rename and be retried.)
   */
  private afterRestart = true;
  private readonly failures = new RetryBook();
  /** Local paths that could not be read (EACCES, EIO): files a scan could not hash, subtrees it could not walk; retried with backoff, shown in status. */
  private readonly readFailures = new RetryBook();
  /**
   * Files that look unflushed after a power cut (see looksUnflushed), with
   * what the scan saw: never recorded as edits; the next pull restores the
   * indexed version from a peer and keeps this content as a conflict copy.
   */
  private readonly unflushed = new Map<string, Observation>();
  /** The deletion budget: deletions waiting for `wizard resume`, local and peers', and the last minute's. */
  private readonly deletions: DeletionGate;
  /** Where paths whose names are not NFC on disk are (see disk-names.ts). */
  private readonly names: DiskNames;
  /** What the scans could not sync, for status. */
  private readonly skipped = new SkippedPaths();
  /** Downloads in progress, for status. */
  readonly transfers: TransferBook;
  /** Answers peers' block and sums requests for this folder's files. */
  readonly serving: FolderServing;
  private readonly timers = new Set<() => void>();
  /** Reports a failure the folder cannot carry on from (its supervisor stops and restarts it). */
  private crash: ((err: unknown) => void) | undefined;

  constructor(private readonly deps: FolderDeps) {
    // Every queued download listens for the folder stopping, and a burst queues thousands: that is the design, not a leak.
    setMaxListeners(0, this.abort.signal);
    this.trash = new Trash(deps.root, deps.trashClock ?? deps.clock);
    this.deletions = new DeletionGate(deps.deletionBudget, deps.monotonicMs);
    this.transfers = new TransferBook(() => deps.clock.now());
    this.ignore = new FolderIgnoreRules(deps);
    this.names = new DiskNames(deps.store.localDiskNames(deps.id));
    const onDisk = (rel: string) => this.names.onDisk(rel);
    this.serving = new FolderServing({ ...deps, onDisk });
    this.rootGuard = new RootGuard({
      ...deps,
      hasHistory: () => {
        const known = deps.store.localStats(deps.id);
        return known.files + known.dirs + known.tombstones > 0;
      },
      lifecycle: () => this.lifecycle,
      enterHalt: () => (this.lifecycle = 'halted'),
      // A watch on a root that vanished and came back reports nothing more: subscribe again.
      restart: async () => {
        await this.watcher.stop();
        await this.start();
      },
      after: (ms, fn) => this.after(ms, fn),
    });
    const control: FolderControl = {
      lifecycle: () => this.lifecycle,
      after: (ms, fn) => this.after(ms, fn),
      announce: () => deps.peers.announce(),
      requestPull: (paths) => this.requestPull(paths),
      queueScan: (paths, mayDelete) => this.queueScan(paths, mayDelete),
      indexWriteFailed: (err) => this.indexWriteFailed(err),
      commitEntries: (entries) => this.commitEntries(entries),
      integrityProblem: () => this.rootGuard.problem(),
      halt: (reason) => this.rootGuard.halt(reason),
    };
    this.recorder = new ChangeRecorder({ ...deps, ...control, lock: this.lock, readFailures: this.readFailures, onDisk });
    this.scanPass = new ScanPass({
      ...deps,
      ...control,
      ignore: this.ignore,
      deletions: this.deletions,
      readFailures: this.readFailures,
      unflushed: this.unflushed,
      recorder: this.recorder,
      skipped: this.skipped,
      onDisk,
      signal: this.abort.signal,
      heldScanRetryMs: HALT_RECHECK_MS,
      afterRestart: () => this.afterRestart,
    });
    this.scans = new ScanQueue((paths, deletable) => this.scanPass.run(paths, deletable));
    this.landed = new LandedPaths(deps.monotonicMs);
    this.handOffs = new HandOffs({ ...deps, ...control });
    this.pulls = new PullLoop({
      ...deps,
      ...control,
      trash: this.trash,
      lock: this.lock,
      transfers: this.transfers,
      failures: this.failures,
      unflushed: this.unflushed,
      ignore: this.ignore,
      handOffs: this.handOffs,
      landed: this.landed,
      skipped: this.skipped,
      onDisk,
      deletions: this.deletions,
      signal: this.abort.signal,
    });
    this.rescans = new PeriodicRescan({ ...deps, ...control, lock: this.lock });
    this.watcher = watchFolder({
      ...deps,
      debounceMs: () => deps.limits().debounceMs,
      landed: this.landed,
      onDisk,
      queueScan: (paths, mayDelete) => this.queueScan(paths, mayDelete),
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
    if (!(await this.rootGuard.prepare()) || this.lifecycle === 'stopped') return;
    // Before anything reads the files: a patch in place cut short by a crash is rolled back first (patch/recover.ts).
    await recoverPatches({ root: this.deps.root, getLocal: (rel) => this.deps.store.getLocal(this.deps.id, rel), trash: this.trash, commit: (e) => this.commitEntries(e), log: this.deps.log });
    // After an upgrade from content hashes v1 (index schema 5), before the scan reads anything (scan/rehash.ts).
    const rehashing = this.deps.store.staleHashes.count(this.deps.id) > 0;
    if (rehashing) {
      this.lifecycle = 'rehashing';
      await rehashStale({ ...this.deps, lock: this.lock, onDisk: (rel) => this.names.onDisk(rel), commit: (e) => this.commitEntries(e), stopped: () => this.lifecycle !== 'rehashing' });
      if (this.lifecycle !== 'rehashing') return;
      // The rehashed entries have new sequences: peers linked meanwhile are sent them now.
      this.deps.peers.announce();
    }
    this.lifecycle = 'starting';
    // Pulls wait for the first scan: deciding against an index that has not yet seen the edits
    // made while Wizard was down would treat them as absent.
    await this.scans.add(['']);
    this.afterRestart = false;
    if (this.lifecycle !== 'starting') return;
    // What the rehash left (changed while Wizard was down) this scan has recorded anew.
    if (rehashing) this.deps.store.staleHashes.clear(this.deps.id);
    this.lifecycle = 'running';
    // What cannot be watched is polled; watcher.problem() says so in status.
    await this.watcher.start();
    this.rescans.start();
    this.requestPull();
  }

  /** Stops watching, scanning and pulling. In-flight disk operations finish or roll back on their own. */
  async stop(): Promise<void> {
    this.lifecycle = 'stopped';
    this.abort.abort(new WizardError('CLOSED', 'folder stopped'));
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    this.serving.close();
    await this.watcher.stop();
    await this.scans.settled();
    await this.recorder.hashedApart();
    // A download is aborted, but a landing under way renames and records: a new Folder on this
    // root (a restart after a crash) must not scan while this one still does. Bounded, as a block
    // request a wedged peer never answers ends only with its link.
    let cancel: (() => void) | undefined;
    await Promise.race([this.handOffs.settled(), new Promise<void>((resolve) => (cancel = this.deps.clock.setTimer(STOP_WAIT_MS, resolve)))]);
    cancel?.();
    this.pulls.flushLog();
  }

  /**
   * Peers' index changed, or a peer connected: see whether there is something
   * to pull. With `paths`, only those are decided again (an index update names
   * what it changed); without, every path a peer differs on.
   */
  requestPull(paths?: Iterable<string>): void {
    this.pulls.request(paths);
  }

  /**
   * Queues a scan of `paths` behind any running one. With `mayDelete` false
   * the scan records what appeared or changed there but not what vanished:
   * the watcher's early hand-over (see coalescer.ts), where a vanished path
   * may be half of a rename or one file of a mass deletion still under way.
   * The watcher hands the same paths over again once the folder settles.
   */
  queueScan(paths: string[], mayDelete = true): void {
    this.scans.add(paths, mayDelete).catch((err: unknown) => {
      if (isIndexWriteFailure(err)) this.indexWriteFailed(err);
      else this.deps.log.error({ err }, 'scan failed');
    });
  }

  /** Where an index path is on disk: under its recorded name when that is not NFC (see disk-names.ts). */
  onDisk(rel: string): string {
    return this.names.onDisk(rel);
  }

  /** Why a scan could not sync `rel` (or a dir above it), for `status --why`. */
  skippedReason(rel: string): string | undefined {
    return this.skipped.reasonFor(rel);
  }

  /** Whether a path is ignored here (peers' entries for it are neither pulled nor counted). */
  isIgnored(rel: string): boolean {
    return this.ignore.isIgnored(rel);
  }

  /** Status for `wizard status` (folder-report.ts). */
  status(): FolderStatus {
    const { deps } = this;
    return folderStatus({
      id: deps.id,
      root: deps.root,
      store: deps.store,
      connected: deps.peers.connected(),
      isIgnored: (p) => this.isIgnored(p),
      state: this.state,
      haltReason: this.rootGuard.reason,
      watchProblem: this.lifecycle === 'running' ? this.watcher.problem() : undefined,
      skipped: this.skipped,
      deletions: this.deletions,
      pendingHandOffs: this.handOffs.pathCount,
      bytesPlanned: this.pulls.bytesPlanned,
      transfers: this.transfers,
      fullScans: this.scanPass.fullScans,
      mode: this.mode,
    });
  }

  /** How the folder syncs now. */
  get mode(): FolderMode {
    return this.deps.mode?.() ?? 'send-receive';
  }

  /** Send-only: makes this node's version of every path a connected peer differs on win (mode-actions.ts); returns those paths. */
  override(): Promise<string[]> {
    return overrideFolder(this.modeActions());
  }

  /** Receive-only: gives up every local change (mode-actions.ts); returns those paths. */
  revert(): Promise<string[]> {
    return revertFolder(this.modeActions());
  }

  /** What the folder is doing now. */
  get state(): FolderState {
    if (this.lifecycle !== 'running') return this.lifecycle;
    if (this.scanPass.isScanning || this.recorder.isHashingApart) return 'scanning';
    return this.pulls.isPulling || this.handOffs.pathCount > 0 ? 'syncing' : 'idle';
  }

  /** Why changes at `rel` are found by polling rather than as they happen; undefined when it is watched. */
  pollReason(rel: string): string | undefined {
    return this.lifecycle === 'running' && this.watcher.isPolled(rel) ? this.watcher.problem() : undefined;
  }

  /** Why a path last failed to sync and when it is tried again, for `status --why`. */
  failureOf(rel: string): { attempts: number; nextAt: number; error: string } | undefined {
    return this.failures.state(rel);
  }

  /** Why the deletion of `rel` is held by the deletion budget, for `status --why`. */
  heldDeletionOf(rel: string): HeldPath | undefined {
    return this.deletions.heldAt(rel);
  }

  /** Errors worth showing the user: paths that keep failing (folder-report.ts). */
  errors(): string[] {
    return folderErrors({ id: this.deps.id, deletions: this.deletions, ignoreProblem: this.ignore.problem, failures: this.failures, readFailures: this.readFailures, unflushed: this.unflushed.keys() });
  }

  /**
   * The user confirmed held deletions (`wizard resume`): a full scan records
   * the local ones, a pull applies the peers' ones. Returns how many were held.
   */
  confirmDeletions(): number {
    const { count, remote } = this.deletions.confirm();
    this.queueScan(['']);
    if (remote.length > 0) this.requestPull(remote);
    return count;
  }

  // ---- what the parts ask of the folder (see folder-control.ts) --------------------------

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

  /** Records entries, dropping the stored block sums of paths that are no longer live files. */
  private commitEntries(entries: Array<Omit<LocalEntry, 'sequence'>>): void {
    const { store, id } = this.deps;
    const stored = store.atomically(() => {
      const done = store.commitLocal(id, entries);
      for (const e of entries) if (e.deleted || e.type !== 'file') store.sums.delete(id, e.path);
      return done;
    });
    this.names.note(stored);
    // What a pull landed at these paths is no longer what the index holds (a pull notes its own entries again).
    this.landed.forget(entries.map((e) => e.path));
  }

  private modeActions(): ModeActionDeps {
    return modeActionDeps({ ...this.deps, trash: this.trash, lock: this.lock, onDisk: (rel) => this.names.onDisk(rel), isIgnored: (rel) => this.isIgnored(rel), commit: (entries) => this.commitEntries(entries), requestPull: (paths) => this.requestPull(paths) });
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
