/**
 * The pull loop of one folder: runs pull rounds while peers have news,
 * decides each path with the pure `reconcile`, applies merges and dirs
 * itself and hands downloads and deletions off (see hand-offs.ts), and
 * records each path's failure for a retry with backoff. The disk work is the
 * puller's; this module only sequences it, and is apart from the scans so
 * that each side's state (what is queued, what is in flight) stays its own.
 */
import { describeError, hasCode } from '../../core/errors.js';
import type { Mutex } from '../../core/mutex.js';
import type { FileEntry, LocalEntry } from '../../index/entry.js';
import { isIndexWriteFailure } from '../../index/store.js';
import type { Observation } from '../../index/scanner.js';
import { compare } from '../../versions/vector.js';
import { conflictName } from '../conflicts/conflict.js';
import { applyMerge, applyTake, type PullContext, type TakeOptions } from './puller.js';
import { planPull, planSize, type PullPlan } from './pull-plan.js';
import { lastModifier, reconcile, restoreDecision } from './reconcile.js';
import type { RetryBook } from './retry.js';
import type { TransferBook } from './transfers.js';
import { AppliedLog } from './applied-log.js';
import { ContentFetches } from './content-fetches.js';
import { GroupCommit } from './group-commit.js';
import type { Trash } from '../trash/trash.js';
import type { HandOffs } from './hand-offs.js';
import type { LandedPaths } from './landed-paths.js';
import type { FolderIgnoreRules } from '../scan/ignore-rules.js';
import type { DeletionGate } from '../deletions/deletion-gate.js';
import type { FolderControl } from '../folder-control.js';
import type { FolderDeps } from '../folder-deps.js';
import type { SkippedPaths } from '../scan/skipped-paths.js';
import { pulledDirMode } from '../disk/permissions.js';

/** What the pull loop needs. */
export interface PullLoopDeps
  extends Pick<FolderDeps, 'id' | 'root' | 'store' | 'localId' | 'nodeName' | 'clock' | 'log' | 'peers' | 'runner' | 'slots' | 'umask' | 'mode'>,
    Pick<FolderControl, 'lifecycle' | 'integrityProblem' | 'halt' | 'indexWriteFailed' | 'queueScan' | 'after' | 'commitEntries'> {
  readonly trash: Trash;
  /** The folder's commit lock, shared with the scans. */
  readonly lock: Mutex;
  /** Downloads in progress, for status. */
  readonly transfers: TransferBook;
  /** Paths whose sync failed, for their retry. */
  readonly failures: RetryBook;
  /** Files that look unflushed after a power cut, with what the scan saw (see Folder). */
  readonly unflushed: Map<string, Observation>;
  readonly ignore: FolderIgnoreRules;
  readonly handOffs: HandOffs;
  /** Where pulled paths are remembered, to tell the watcher's echo of them apart. */
  readonly landed: LandedPaths;
  /** What the scans could not sync: a path that is two files here (a clash) is not written (status says why). */
  readonly skipped: SkippedPaths;
  /** Where an index path is on disk (see DiskNames). */
  readonly onDisk: (rel: string) => string;
  /** The folder's deletion budget, shared with the scans: peers' deletions past it are held. */
  readonly deletions: DeletionGate;
  /** Aborts downloads when the folder stops. */
  readonly signal: AbortSignal;
}

/** Runs a folder's pull rounds. */
export class PullLoop {
  private pullRequested = false;
  private pulling = false;
  /** Downloads in progress by content hash, so a deletion can wait for the ones that may use its file. */
  private readonly fetching = new ContentFetches();
  /** What the next pull round decides: every differing path, or only these. */
  private pullAll = false;
  private readonly pullPaths = new Set<string>();
  /** Sizes of the handed-off downloads not yet finished. */
  private plannedBytes = 0;
  /** Pulled paths are renamed into place and recorded in batches (see group-commit.ts). */
  private readonly landing: GroupCommit;
  /** What the pulls changed, for the log (batched). */
  private readonly applied: AppliedLog;

  constructor(private readonly deps: PullLoopDeps) {
    this.applied = new AppliedLog({ log: deps.log, after: deps.after });
    this.landing = new GroupCommit({
      locked: (fn) => this.deps.lock.run(fn),
      commit: (entries) => this.commitPulled(entries),
      atomically: (fn) => this.deps.store.atomically(fn),
      placed: (entries) => this.deps.landed.note(entries),
    });
  }

  /** Whether the loop of pull rounds is running. */
  get isPulling(): boolean {
    return this.pulling;
  }

  /** Bytes of the downloads handed off and not yet finished. */
  get bytesPlanned(): number {
    return this.plannedBytes;
  }

  /**
   * Peers' index changed, or a peer connected: see whether there is something
   * to pull. With `paths`, only those are decided again (an index update names
   * what it changed); without, every path a peer differs on.
   */
  request(paths?: Iterable<string>): void {
    if (paths === undefined) this.pullAll = true;
    else for (const p of paths) this.pullPaths.add(p);
    this.pullRequested = true;
    if (this.pulling || this.deps.lifecycle() !== 'running') return;
    this.pulling = true;
    void this.runPulls().catch((err: unknown) => {
      if (isIndexWriteFailure(err)) this.deps.indexWriteFailed(err);
      else this.deps.log.error({ err }, 'pull loop failed');
    });
  }

  /**
   * Runs rounds while requests come. `pulling` ends in the same synchronous
   * step as the last check for a request: cleared a few microtasks later (in
   * a `finally` of the caller's chain), a request made in between found the
   * loop still pulling and was left to it, though it had ended; the path then
   * stayed unsynced, with no error, until some other request came.
   */
  private async runPulls(): Promise<void> {
    try {
      while (this.pullRequested && this.deps.lifecycle() === 'running') {
        this.pullRequested = false;
        const all = this.pullAll;
        const only = [...this.pullPaths];
        this.pullAll = false;
        this.pullPaths.clear();
        await this.pullRound(all ? undefined : only);
      }
    } finally {
      this.pulling = false;
    }
  }

  /**
   * Decides `only` those paths, or every path a peer has news for, except
   * those a hand-off still holds (they are decided again when it ends). Merges and dirs are quick and local, so the round does them itself,
   * parents first; files and deletions are handed off (see `HandOffs.handOff`) and the
   * round does not wait for them, so a file that appears while a big one
   * downloads is started at once instead of after it.
   */
  private async pullRound(only?: readonly string[]): Promise<void> {
    const { store, id } = this.deps;
    // Send-only: peers' changes are not applied (status counts where they differ; 'wizard folder override' makes ours win).
    if (this.deps.mode?.() === 'send-only') return;
    const connected = new Set(this.deps.peers.connected());
    // Until ignore rules are known, ignored paths cannot be told apart: the next scan asks for a pull.
    if (connected.size === 0 || this.deps.ignore.matcher === undefined) return;
    const problem = await this.deps.integrityProblem();
    if (problem !== undefined) {
      this.deps.halt(problem);
      return;
    }
    const paths = new Set<string>(only);
    if (only === undefined) for (const peer of connected) for (const e of store.remoteDiffering(id, peer)) paths.add(e.path);
    if (only === undefined) for (const p of this.deps.unflushed.keys()) paths.add(p);

    const now = this.deps.clock.now();
    const wanted: string[] = [];
    for (const p of paths) {
      if (this.deps.handOffs.skipIfHeld(p) || this.deps.skipped.clashAt(p) !== undefined) continue;
      if (!this.deps.ignore.isIgnored(p) && !this.deps.failures.isWaiting(p, now)) wanted.push(p);
    }
    // Our entry each decision was made on; withinBudget reads it in this same synchronous step.
    const decidedOn = new Map<string, LocalEntry | undefined>();
    const planned = planPull(
      wanted,
      (p) => {
        const local = store.getLocal(id, p);
        decidedOn.set(p, local);
        const remotes = store.remotesFor(id, p);
        const decided = reconcile(local, remotes);
        const final = local !== undefined && this.deps.unflushed.has(p) ? restoreDecision(decided, local, remotes) : decided;
        // In sync now (a scan recorded what the failed pull was for, or a peer moved on): nothing is failing any more.
        if (final.kind === 'none') this.deps.failures.succeed(p);
        return final;
      },
      connected,
    );
    const plan = this.withinBudget(wanted, planned, (p) => (decidedOn.has(p) ? decidedOn.get(p) : store.getLocal(id, p)));
    if (planSize(plan) === 0) return;
    this.deps.log.debug(
      { decided: wanted.length, merges: plan.merges.length, dirs: plan.dirs.length, files: plan.files.length, deletes: plan.deletes.length, inFlight: this.deps.handOffs.pathCount },
      'pull round',
    );
    const ctx = this.pullContext();
    const opts = (p: string, d: { replacesConcurrent: boolean; entry?: FileEntry }) => ({ ...this.takeOptions(p, d), basedOn: decidedOn.get(p)?.sequence ?? 0 });
    let progressed = false;
    for (const [p, d] of plan.merges) progressed = (await this.attempt(p, () => applyMerge(ctx, p, d.version, opts(p, { replacesConcurrent: false })))) || progressed;
    for (const [p, d] of plan.dirs) progressed = (await this.attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources, opts(p, d)))) || progressed;
    if (progressed) this.deps.peers.announce();

    for (const [p, d] of plan.files) {
      const size = d.entry.type === 'file' ? d.entry.size : 0;
      this.plannedBytes += size;
      const download = async (release: () => void): Promise<void> => {
        this.deps.transfers.begin(p, size, d.sources);
        try {
          const started = this.deps.clock.now();
          await applyTake(ctx, d.entry, d.version, d.sources, { ...opts(p, d), onFetched: release });
          this.deps.log.debug({ path: p, bytes: size, ms: this.deps.clock.now() - started }, 'pulled');
        } finally {
          this.deps.transfers.end(p);
        }
      };
      const done = this.deps.handOffs
        .handOff([p], () => this.deps.slots.run(size, (release) => this.attempt(p, () => download(release)), this.deps.signal))
        .finally(() => {
          this.plannedBytes -= size;
        });
      if (d.entry.type === 'file') this.fetching.add(d.entry.hash, done);
    }
    if (plan.deletes.length > 0) {
      // A file being fetched may be built from one of these (a rename: same content, new name),
      // so a deletion waits for the fetches of its content; other deletions go at once, children first.
      const bases = plan.deletes.flatMap(([p]) => this.fetching.of(store.getLocal(id, p)?.hash));
      const paths = plan.deletes.map(([p]) => p);
      void this.deps.handOffs.handOff(paths, async () => {
        await Promise.allSettled(bases);
        let any = false;
        for (const [p, d] of plan.deletes) any = (await this.attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources, opts(p, d)))) || any;
        return any;
      });
    }
  }

  /**
   * `plan` without the peers' deletions the folder's deletion budget holds
   * (see deletion-gate.ts): those files stay and nothing is recorded, while
   * the rest of the round (edits, new files) goes ahead. A path `decided`
   * as anything but a deletion ends a hold on it. `localOf`: our entry as the
   * decision read it, in the same synchronous step (not read again).
   */
  private withinBudget(decided: readonly string[], plan: PullPlan, localOf: (p: string) => LocalEntry | undefined): PullPlan {
    const { store, id } = this.deps;
    const deleting = new Set(plan.deletes.map(([p]) => p));
    const isNew = (p: string) => {
      const local = localOf(p);
      return local === undefined || local.deleted;
    };
    this.deps.deletions.settle(
      decided.filter((p) => !deleting.has(p)),
      [...plan.dirs, ...plan.files].map(([p]) => p).filter(isNew),
    );
    if (plan.deletes.length === 0) return plan;
    // Who asks for each deletion: the peers whose index holds the winning tombstone.
    const deletions = plan.deletes.map(([p, d]) => ({
      path: p,
      peers: store.remotesFor(id, p).filter((r) => r.entry.deleted && compare(r.entry.version, d.entry.version) === 'equal').map((r) => r.peer),
    }));
    const stats = store.localStats(id);
    const allowed = this.deps.deletions.admitRemote(deletions, stats.files + stats.dirs, (held) =>
      this.deps.log.warn({ deletions: held.count, local: held.local, fromPeers: held.fromPeers, reason: held.reason }, `deletions held until 'wizard resume ${id}'`),
    );
    return allowed.size === deletions.length ? plan : { ...plan, deletes: plan.deletes.filter(([p]) => allowed.has(p)) };
  }

  /** Carries out one path's action; true when it succeeded, and a failure is recorded for a retry. */
  private async attempt(rel: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      this.deps.failures.succeed(rel);
      // A take replaced a file that looked unflushed (kept as a conflict copy): it is settled.
      this.deps.unflushed.delete(rel);
      return true;
    } catch (err) {
      this.noteFailure(rel, err);
      return false;
    }
  }

  /** A lost concurrent edit of a live file is kept as a conflict copy named after its author. */
  private takeOptions(rel: string, d: { replacesConcurrent: boolean; entry?: FileEntry }): TakeOptions {
    const torn = this.deps.unflushed.get(rel);
    const winner = d.entry === undefined ? '' : lastModifier(d.entry.version);
    // What looks like a power cut's leftovers is replaced only while it is exactly that, and kept beside as a conflict copy.
    if (torn !== undefined) return { acceptDisk: torn, ...this.keepAsCopy(rel, this.deps.localId, winner) };
    // Most takes replace nothing concurrent: no index read for them (one per pulled file, a burst's thousands).
    if (!d.replacesConcurrent) return {};
    const local = this.deps.store.getLocal(this.deps.id, rel);
    if (local === undefined || local.deleted || local.type === 'dir') return {};
    return this.keepAsCopy(rel, lastModifier(local.version), winner);
  }

  /** Keeps the losing edit of `rel` (by `loser`) as a conflict copy, and says so in the log once it has its name. */
  private keepAsCopy(rel: string, loser: string, winner: string): Pick<TakeOptions, 'keepLocalAs' | 'onKept'> {
    const author = { shortId: loser, name: this.deps.nodeName?.(loser) ?? '' };
    return {
      keepLocalAs: conflictName(rel, this.deps.clock.now(), author),
      onKept: (copy) =>
        this.deps.log.warn(
          { path: rel, copy, fileHolds: this.editOf(winner), copyHolds: this.editOf(loser) },
          'conflict: two machines changed a file at once; the file keeps one edit, the other is kept beside it (see wizard conflicts)',
        ),
    };
  }

  /** `"<name>'s edit"` for a node's short ID, as the log says it. */
  private editOf(shortId: string): string {
    if (shortId === '') return 'unknown';
    const who = shortId === this.deps.localId ? 'this node' : (this.deps.nodeName?.(shortId) ?? '') || `node ${shortId.slice(0, 8)}`;
    return `${who}'s edit`;
  }

  private pullContext(): PullContext {
    const { store, id, root } = this.deps;
    return {
      root,
      umask: this.deps.umask,
      trash: this.deps.trash,
      readBlock: async (peer, req) => {
        const data = await this.deps.peers.readBlock(peer, req);
        this.deps.transfers.add(req.path, data.length);
        return data;
      },
      readSums: this.deps.peers.readSums,
      runner: this.deps.runner,
      commitSums: (rel, hash, sums) => store.sums.put(id, rel, hash, sums),
      storedSums: (rel, hash) => store.sums.get(id, rel, hash),
      onDeltaFallback: (rel, err) => this.deps.log.warn({ path: rel, err: describeError(err) }, 'delta transfer unusable; downloading the whole file'),
      getLocal: (rel) => store.getLocal(id, rel),
      onDisk: this.deps.onDisk,
      parentMode: (dir) => {
        const theirs = store.remotesFor(id, dir).find((r) => r.entry.type === 'dir' && !r.entry.deleted);
        return theirs === undefined ? undefined : pulledDirMode(theirs.entry.mode, this.deps.umask);
      },
      findByHash: (hash) => store.localWithHash(id, hash),
      locked: (fn) => this.deps.lock.run(fn),
      commit: (entries) => this.commitPulled(entries),
      landing: this.landing,
      created: (rel) => this.deps.queueScan([rel]),
      signal: this.deps.signal,
      halt: (reason) => this.deps.halt(reason),
    };
  }

  /** Records what a pull put on disk, remembering when, so the watcher's echo of it can be told apart; the log says what changed. */
  private commitPulled(entries: Array<Omit<LocalEntry, 'sequence'>>): void {
    const changes = entries.map((entry) => ({ entry, before: this.deps.store.getLocal(this.deps.id, entry.path) }));
    this.deps.commitEntries(entries);
    this.deps.landed.note(entries);
    this.applied.note(changes);
  }

  /** Writes the line for changes applied but not yet logged (the folder is stopping). */
  flushLog(): void {
    this.applied.flush();
  }

  private noteFailure(rel: string, err: unknown): void {
    if (hasCode(err, 'CLOSED')) return;
    // Not this path's fault: no path can be recorded until the index can be written.
    if (isIndexWriteFailure(err)) return this.deps.indexWriteFailed(err);
    const changed = hasCode(err, 'CHANGED');
    // The disk has news: record it first, then this path is decided again. Still counted, so a path
    // that keeps looking changed (a dir that holds ignored files, say) backs off instead of spinning.
    if (changed) this.deps.queueScan([rel]);
    const delay = this.deps.failures.fail(rel, err, this.deps.clock.now(), changed ? 250 : 1000);
    const attempts = this.deps.failures.attempts(rel);
    if (!changed || attempts > 3) {
      this.deps.log.warn({ path: rel, attempts, retryInMs: delay, err: describeError(err) }, 'sync of path failed; will retry');
    }
    this.deps.after(delay, () => {
      this.deps.failures.due(rel, attempts);
      this.request([rel]);
    });
  }
}
