/**
 * One synced folder: keeps its index in step with the disk (scans, watcher)
 * and the disk in step with its peers (pull rounds). The decisions are made by
 * the pure `reconcile`; the disk work by the puller; this file sequences them.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError, hasCode, WizardError } from '../core/errors.js';
import { Mutex } from '../core/mutex.js';
import { isUnder } from '../core/paths.js';
import type { Limits } from '../config/schema.js';
import type { LocalEntry } from '../index/entry.js';
import { hashFile, sameStat } from '../index/hash.js';
import type { IndexStore } from '../index/store.js';
import { classify, observe, walk, type Observation } from '../index/scanner.js';
import { FolderWatcher } from '../index/watcher.js';
import { compileIgnore, isAlwaysIgnored, type IgnoreMatcher } from '../ignore/matcher.js';
import { bump } from '../versions/vector.js';
import type { BlockSource } from './fetch.js';
import { applyMerge, applyTake, type PullContext } from './puller.js';
import { reconcile, type Decision } from './reconcile.js';
import { readBlock } from './serve.js';
import { Trash } from './trash.js';

/** The folder's view of the peers it shares with. */
export interface FolderPeers {
  /** Connected peers that share this folder. */
  connected(): string[];
  /** Reads a block of a file from one peer. */
  readonly readBlock: BlockSource;
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
  readonly log: Logger;
  readonly peers: FolderPeers;
  /** The master ignore list's text (hot-reloadable). */
  readonly masterIgnore: () => string;
  readonly limits: () => Limits;
  readonly rescanIntervalMs: () => number;
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
}

/** The `.wizard` dir at the root marks a folder Wizard has synced; its absence means the disk is not the one we know. */
const MARKER_DIR = '.wizard';
/** The folder's own ignore file at its root (not synced, like Syncthing's .stignore). */
const FOLDER_IGNORE = '.wizardignore';
/** Changes recorded per index transaction during a scan. */
const COMMIT_BATCH = 500;
/** Longest wait before retrying a path that failed. */
const MAX_RETRY_MS = 60_000;
/** How often a halted folder checks whether it can resume. */
const HALT_RECHECK_MS = 5_000;

/** One synced folder. */
export class Folder {
  /** Lifecycle; what the folder is doing while running is derived from `scansRunning` and `pulling`. */
  private lifecycle: 'starting' | 'running' | 'halted' | 'stopped' = 'starting';
  private scansRunning = 0;
  private haltReason: string | undefined;
  private readonly lock = new Mutex();
  private readonly trash: Trash;
  private readonly watcher: FolderWatcher;
  private readonly abort = new AbortController();
  private matcher: IgnoreMatcher | undefined;
  private matcherSource = '';
  private scanning: Promise<void> = Promise.resolve();
  private pullRequested = false;
  private pulling = false;
  private pendingCount = 0;
  /** Watcher and periodic rescan are running (they outlive a halt). */
  private started = false;
  private readonly failures = new Map<string, { attempts: number; nextAt: number; error: string }>();
  private readonly timers = new Set<() => void>();

  constructor(private readonly deps: FolderDeps) {
    this.trash = new Trash(deps.root, deps.clock);
    this.watcher = new FolderWatcher({
      root: deps.root,
      clock: deps.clock,
      debounceMs: () => deps.limits().debounceMs,
      onChanges: (paths) => this.queueScan(paths),
      onError: (err) => {
        deps.log.warn({ err }, 'watcher error; rescanning the whole folder');
        this.queueScan(['']);
      },
    });
  }

  get id(): string {
    return this.deps.id;
  }

  /** Absolute path of the folder on disk. */
  get root(): string {
    return this.deps.root;
  }

  /** Checks the folder is intact, scans it, starts watching and pulling. */
  async start(): Promise<void> {
    if (!(await this.prepareRoot())) return;
    await this.scan(['']);
    if (this.started) {
      this.requestPull();
      return;
    }
    this.started = true;
    try {
      await this.watcher.start();
    } catch (err) {
      // Without a watcher the periodic rescan still catches every change, only later.
      this.deps.log.error({ err }, 'cannot watch folder; changes are picked up by the periodic rescan only');
    }
    this.schedulePeriodicRescan();
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
  }

  /** Peers' index changed, or a peer connected: see whether there is something to pull. */
  requestPull(): void {
    this.pullRequested = true;
    if (this.pulling || this.lifecycle !== 'running') return;
    this.pulling = true;
    void this.runPulls()
      .catch((err: unknown) => this.deps.log.error({ err }, 'pull loop failed'))
      .finally(() => {
        this.pulling = false;
      });
  }

  /** Answers a peer's block request. */
  readBlock(req: { path: string; hash: string; offset: number; length: number }): Promise<Buffer> {
    return readBlock(this.deps.root, this.deps.store.getLocal(this.deps.id, req.path), req);
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
    return {
      id: this.deps.id,
      path: this.deps.root,
      state,
      ...(this.haltReason === undefined ? {} : { haltReason: this.haltReason }),
      files: stats.files,
      bytes: stats.bytes,
      inSync: !busy && outOfSync === 0,
      pending: Math.max(outOfSync, this.pendingCount),
    };
  }

  /** What the folder is doing now. */
  get state(): FolderState {
    if (this.lifecycle !== 'running') return this.lifecycle;
    if (this.scansRunning > 0) return 'scanning';
    return this.pulling ? 'syncing' : 'idle';
  }

  /** Errors worth showing the user: paths that keep failing. */
  errors(): string[] {
    return [...this.failures.entries()].map(([p, f]) => `${this.deps.id}/${p}: ${f.error}`);
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
    this.lifecycle = 'running';
    return true;
  }

  private async integrityProblem(): Promise<string | undefined> {
    const root = this.deps.root;
    try {
      if (!(await stat(root)).isDirectory()) return `${root} is not a directory`;
    } catch {
      return `${root} is missing (unmounted or deleted?); restore it to resume`;
    }
    try {
      await stat(path.join(root, MARKER_DIR));
    } catch {
      return `${path.join(root, MARKER_DIR)} is missing, so this may not be the disk Wizard synced; recreate that dir if the folder is intact`;
    }
    return undefined;
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
    await this.start().catch((err: unknown) => this.deps.log.error({ err }, 'resume failed'));
  }

  // ---- scanning ----------------------------------------------------------------------------

  /** Queues a scan of `paths` behind any running one. */
  queueScan(paths: string[]): void {
    const run = this.scan(paths).catch((err: unknown) => this.deps.log.error({ err }, 'scan failed'));
    this.scanning = run;
  }

  private scan(paths: string[]): Promise<void> {
    const previous = this.scanning;
    const next = previous.catch(() => undefined).then(() => this.scanNow(paths));
    this.scanning = next;
    return next;
  }

  private async scanNow(paths: string[]): Promise<void> {
    if (this.lifecycle === 'stopped' || this.lifecycle === 'halted') return;
    const problem = await this.integrityProblem();
    if (problem !== undefined) {
      this.halt(problem);
      return;
    }
    this.scansRunning++;
    try {
      await this.refreshMatcher();
      let committed = 0;
      for (const rel of minimalRoots(paths)) committed += await this.scanSubtree(rel);
      if (committed > 0) this.deps.peers.announce();
    } finally {
      this.scansRunning--;
    }
    // A local change can settle what a pull was waiting for (or supersede it).
    this.requestPull();
  }

  private async refreshMatcher(): Promise<void> {
    let own = '';
    try {
      own = await readFile(path.join(this.deps.root, FOLDER_IGNORE), 'utf8');
    } catch {
      // No .wizardignore: only the master list applies.
    }
    const source = `${this.deps.masterIgnore()}\0${own}`;
    if (this.matcher !== undefined && source === this.matcherSource) return;
    this.matcher = compileIgnore([
      { text: this.deps.masterIgnore(), base: '' },
      { text: own, base: '' },
    ]);
    this.matcherSource = source;
  }

  /** Scans one subtree and records what changed. Returns the number of entries committed. */
  private async scanSubtree(rel: string): Promise<number> {
    const { root, store, id } = this.deps;
    const matcher = this.matcher as IgnoreMatcher;
    const result = await walk(root, rel, {
      matcher,
      isInternal: (p) => isAlwaysIgnored(p) || p === FOLDER_IGNORE,
      signal: this.abort.signal,
    });
    for (const s of result.skipped) this.deps.log.warn({ path: s.path, reason: s.reason }, 'not syncing path');
    const known = new Map(store.localUnder(id, rel).map((e) => [e.path, e]));

    const candidates: Array<{ obs: Observation | undefined; prev: LocalEntry | undefined; path: string }> = [];
    for (const obs of result.seen.values()) {
      const prev = known.get(obs.path);
      if (classify(obs, prev) !== 'same') candidates.push({ obs, prev, path: obs.path });
    }
    for (const prev of known.values()) {
      if (prev.deleted || result.seen.has(prev.path)) continue;
      if (this.isIgnored(prev.path) || matcher.isIgnored(prev.path, prev.type === 'dir')) continue;
      // A path below a dir we could not read is unknown, not deleted.
      if (result.unreadable.some((dir) => isUnder(prev.path, dir))) continue;
      candidates.push({ obs: undefined, prev, path: prev.path });
    }
    // Parents before children, so a peer creates dirs before their contents.
    candidates.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

    const limit = pLimit(this.deps.limits().hashers);
    let committed = 0;
    for (let i = 0; i < candidates.length; i += COMMIT_BATCH) {
      const batch = candidates.slice(i, i + COMMIT_BATCH);
      const records = await Promise.all(batch.map((c) => limit(() => this.record(c.path, c.obs, c.prev))));
      committed += await this.lock.run(async () => {
        const changes: Array<Omit<LocalEntry, 'sequence'>> = [];
        for (const [j, rec] of records.entries()) {
          const c = batch[j];
          if (rec === undefined || c === undefined) continue;
          // Commit only if nothing moved since we looked: neither the index (a pull landed) nor the disk (a new write).
          const now = store.getLocal(id, c.path);
          if (now?.sequence !== c.prev?.sequence) continue;
          const disk = await observe(root, c.path);
          if (!sameObservation(disk, c.obs)) {
            this.queueScanLater(c.path);
            continue;
          }
          changes.push(rec);
        }
        store.commitLocal(id, changes);
        return changes.length;
      });
    }
    return committed;
  }

  /** The entry to record for a changed path, or undefined when there is nothing to record after all. */
  private async record(rel: string, obs: Observation | undefined, prev: LocalEntry | undefined): Promise<Omit<LocalEntry, 'sequence'> | undefined> {
    const localId = this.deps.localId;
    if (obs === undefined) {
      if (prev === undefined) return undefined;
      return { ...prev, size: 0, hash: '', target: '', deleted: true, inode: 0, version: bump(prev.version, localId) };
    }
    let hash = '';
    if (obs.type === 'file') {
      try {
        hash = await hashFile(path.join(this.deps.root, ...rel.split('/')), obs, this.abort.signal);
      } catch (err) {
        // CHANGED: a file being written right now; look again once it settles.
        if (!hasCode(err, 'CHANGED')) this.deps.log.warn({ path: rel, err: describeError(err) }, 'cannot read file; will retry');
        this.queueScanLater(rel);
        return undefined;
      }
    }
    const entry = { path: rel, type: obs.type, size: obs.size, mtimeMs: obs.mtimeMs, mode: obs.mode, hash, target: obs.target, deleted: false, inode: obs.inode };
    const contentSame =
      prev !== undefined && !prev.deleted && prev.type === obs.type && prev.hash === hash && prev.target === obs.target && prev.mode === obs.mode;
    // Same bytes under a new inode (a restore, a copy-back): remember where it is without announcing a new version.
    const metaOnly = contentSame && (obs.type !== 'file' || prev.mtimeMs === obs.mtimeMs);
    return { ...entry, version: metaOnly ? prev.version : bump(prev?.version ?? {}, localId) };
  }

  private queueScanLater(rel: string): void {
    this.after(Math.max(this.deps.limits().debounceMs, 100), () => this.queueScan([rel]));
  }

  private schedulePeriodicRescan(): void {
    this.after(this.deps.rescanIntervalMs(), () => {
      this.queueScan(['']);
      this.schedulePeriodicRescan();
    });
  }

  // ---- pulling -----------------------------------------------------------------------------

  private async runPulls(): Promise<void> {
    while (this.pullRequested && this.lifecycle === 'running') {
      this.pullRequested = false;
      await this.pullRound();
    }
  }

  private async pullRound(): Promise<void> {
    const { store, id } = this.deps;
    const connected = new Set(this.deps.peers.connected());
    if (connected.size === 0) return;
    const problem = await this.integrityProblem();
    if (problem !== undefined) {
      this.halt(problem);
      return;
    }
    const paths = new Set<string>();
    for (const peer of connected) for (const e of store.remoteDiffering(id, peer)) paths.add(e.path);

    const now = this.deps.clock.now();
    const dirs: Array<[string, Decision & { kind: 'take' }]> = [];
    const files: Array<[string, Decision & { kind: 'take' }]> = [];
    const deletes: Array<[string, Decision & { kind: 'take' }]> = [];
    const merges: Array<[string, Decision & { kind: 'merge' }]> = [];
    for (const p of paths) {
      if (this.isIgnored(p)) continue;
      const failure = this.failures.get(p);
      if (failure !== undefined && failure.nextAt > now) continue;
      const decision = reconcile(store.getLocal(id, p), store.remotesFor(id, p));
      if (decision.kind === 'merge') merges.push([p, decision]);
      else if (decision.kind === 'take') {
        const sources = decision.sources.filter((s) => connected.has(s));
        const d = { ...decision, sources };
        if (d.entry.deleted) deletes.push([p, d]);
        else if (d.entry.type === 'dir') dirs.push([p, d]);
        else if (sources.length > 0) files.push([p, d]);
      }
    }
    const total = dirs.length + files.length + deletes.length + merges.length;
    if (total === 0) return;
    this.pendingCount = total;
    let progressed = 0;
    const ctx = this.pullContext();
    const attempt = async (p: string, fn: () => Promise<void>) => {
      try {
        await fn();
        this.failures.delete(p);
        progressed++;
      } catch (err) {
        this.noteFailure(p, err);
      } finally {
        this.pendingCount--;
      }
    };
    try {
      for (const [p, d] of merges) await attempt(p, () => applyMerge(ctx, p, d.version));
      dirs.sort(([a], [b]) => (a < b ? -1 : 1));
      for (const [p, d] of dirs) await attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources));
      const limit = pLimit(this.deps.limits().transfers);
      await Promise.all(files.map(([p, d]) => limit(() => attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources)))));
      // Children before parents, so a dir is empty by the time its own deletion comes.
      deletes.sort(([a], [b]) => (a < b ? 1 : -1));
      for (const [p, d] of deletes) await attempt(p, () => applyTake(ctx, d.entry, d.version, d.sources));
    } finally {
      this.pendingCount = 0;
    }
    if (progressed > 0) {
      this.deps.peers.announce();
      // What we just did may unblock more (a dir that is now empty, a file whose parent now exists).
      this.pullRequested = true;
    }
  }

  private pullContext(): PullContext {
    const { store, id, root } = this.deps;
    return {
      root,
      trash: this.trash,
      readBlock: this.deps.peers.readBlock,
      getLocal: (rel) => store.getLocal(id, rel),
      locked: (fn) => this.lock.run(fn),
      commit: (entries) => void store.commitLocal(id, entries),
      signal: this.abort.signal,
    };
  }

  private noteFailure(rel: string, err: unknown): void {
    if (hasCode(err, 'CLOSED')) return;
    if (hasCode(err, 'CHANGED')) {
      // The disk has news: record it first, then this path is decided again.
      this.queueScan([rel]);
      return;
    }
    const previous = this.failures.get(rel);
    const attempts = (previous?.attempts ?? 0) + 1;
    const delay = Math.min(MAX_RETRY_MS, 1000 * 2 ** (attempts - 1));
    this.failures.set(rel, { attempts, nextAt: this.deps.clock.now() + delay, error: describeError(err) });
    this.deps.log.warn({ path: rel, attempts, retryInMs: delay, err: describeError(err) }, 'sync of path failed; will retry');
    this.after(delay, () => this.requestPull());
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

/** Observations equal in everything a scan records. */
function sameObservation(a: Observation | undefined, b: Observation | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type !== b.type || a.mode !== b.mode || a.target !== b.target) return false;
  // A dir's mtime moves whenever its children change, which says nothing about the dir entry itself.
  return a.type === 'dir' || sameStat(a, b);
}

/** Drops paths covered by another path in the list ('' covers all). */
export function minimalRoots(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  const out: string[] = [];
  for (const p of sorted) {
    if (out.some((r) => isUnder(p, r))) continue;
    out.push(p);
  }
  return out;
}
