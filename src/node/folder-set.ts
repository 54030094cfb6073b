/**
 * The node's running folders, kept in step with the config: each is a
 * supervised service, so a folder that crashes is built afresh and started
 * again, and one removed from the config, moved to another path or paused
 * is stopped. Also holds the master ignore list every folder scans by. Its own
 * module because which folders run, and how each is built, is one job apart
 * from composing the node.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { ignorePath } from '../config/file.js';
import { nodeNameOf } from '../config/node-names.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { describeError, WizardError } from '../core/errors.js';
import type { SteadyTime } from '../core/steady-time.js';
import type { IndexStore } from '../index/store.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { Folder } from '../sync/folder.js';
import { type FolderStatus, pausedFolderStatus } from '../sync/folder-report.js';
import type { FolderPeers } from '../sync/folder-deps.js';
import type { TransferSlots } from '../sync/pull/transfer-slots.js';
import { shortId } from '../versions/vector.js';
import type { JobRunner } from '../workers/pool.js';

/** What the folders need from the node. */
export interface FolderSetDeps {
  readonly home: string;
  /** This node's ID. */
  readonly nodeId: string;
  readonly config: () => Config;
  readonly store: IndexStore;
  readonly supervisor: Supervisor;
  readonly clock: Clock;
  /** Elapsed real time, which a wall-clock step does not move. */
  readonly monotonicMs: () => number;
  /** Clock readings a clock step cannot turn against the trash. */
  readonly steady: SteadyTime;
  /** The daemon's umask, what pulled files' modes are filtered through. */
  readonly umask: number;
  readonly log: Logger;
  /** Hashing and delta work, off the event loop. */
  readonly runner: JobRunner;
  /** At most `limits.transfers` downloads at once, across every folder. */
  readonly slots: TransferSlots;
  /** What a folder asks of its peers (see PeerLinks.folderPeers). */
  readonly peers: (folderId: string) => FolderPeers;
  /** Records an error for status and the log. */
  readonly noteError: (message: string, err: unknown) => void;
}

/** The folders the config wants running: every one not paused. */
function runnable(config: Config): Config['folders'] {
  return config.folders.filter((f) => f.paused !== true);
}

/** The supervisor's name for a folder's service. */
export function folderService(id: string): string {
  return `folder:${id}`;
}

/** The running folders, by ID. */
export class FolderSet {
  private readonly folders = new Map<string, Folder>();
  /**
   * Folders whose service is stopping after a pause, a removal or a move, by
   * ID, with the root they ran on: a Folder started again on the same ID or
   * the same root waits for that stop, so two never scan, recover patches or
   * land files on one root at once.
   */
  private readonly stopping = new Map<string, { readonly root: string; readonly done: Promise<void> }>();
  /** The master ignore list; undefined while its file exists but has never been readable (folders wait for it). */
  private masterIgnore: string | undefined;

  constructor(private readonly deps: FolderSetDeps) {}

  /** A folder by ID (also one stopped after a crash, until its restart replaces it). */
  get(id: string): Folder | undefined {
    return this.folders.get(id);
  }

  /**
   * The running folder `id`, for a command that needs one; a usage error
   * that says why when there is none (paused, not configured, not started).
   */
  running(id: string): Folder {
    const folder = this.folders.get(id);
    if (folder !== undefined) return folder;
    const cfg = this.deps.config().folders.find((f) => f.id === id);
    if (cfg === undefined) throw new WizardError('USAGE', `no folder '${id}'; 'wizard status' lists the folders`);
    if (cfg.paused === true) throw new WizardError('USAGE', `folder '${id}' is paused; 'wizard folder unpause ${id}' first`);
    throw new WizardError('USAGE', `folder '${id}' is not running on this daemon; 'wizard status' says why`);
  }

  /**
   * Resolves with true once every folder stop under way (a pause, a removal)
   * has ended, or with false when `maxMs` passes first (a stop waits for
   * the file being hashed or landed, which can take long on a big file).
   */
  async settled(maxMs = Infinity): Promise<boolean> {
    const all = Promise.all([...this.stopping.values()].map((s) => s.done)).then(() => true);
    if (maxMs === Infinity) return all;
    let cancel = () => undefined as void;
    const late = new Promise<boolean>((resolve) => (cancel = this.deps.clock.setTimer(maxMs, () => resolve(false))));
    return Promise.race([all, late]).finally(() => cancel());
  }

  /** Every folder. */
  all(): Folder[] {
    return [...this.folders.values()];
  }

  /** The folders whose trash the purger keeps to its limits: a paused folder's stays as it is until it is unpaused. */
  trashRoots(): Array<{ id: string; root: string }> {
    return runnable(this.deps.config()).map((f) => ({ id: f.id, root: f.path }));
  }

  /** The status of every folder: the running ones', then the paused ones' (not running, so not in `all`). */
  statuses(): FolderStatus[] {
    const paused = this.deps.config().folders.filter((f) => f.paused === true && !this.folders.has(f.id));
    return [...this.all().map((f) => f.status()), ...paused.map((f) => pausedFolderStatus(f, this.deps.store))];
  }

  /** Starts the folders the config names, not paused and not yet running, and stops the others. */
  sync(): void {
    const { supervisor, config } = this.deps;
    const wanted = new Map(runnable(config()).map((f) => [f.id, f]));
    for (const [id, folder] of this.folders) {
      const cfg = wanted.get(id);
      if (cfg === undefined || cfg.path !== folder.root) {
        this.folders.delete(id);
        this.stopService(id, folder.root);
      }
    }
    for (const cfg of wanted.values()) {
      if (this.folders.has(cfg.id)) continue;
      // A restart after a crash builds the folder afresh: a stopped Folder cannot start again.
      let folder = this.newFolder(cfg);
      this.folders.set(cfg.id, folder);
      void supervisor.add({
        name: folderService(cfg.id),
        start: async (crash) => {
          await this.stopsOn(cfg.id, cfg.path);
          // Paused, removed or moved while it waited: a later sync() has its own service for what the config wants now.
          if (this.folders.get(cfg.id) !== folder) return;
          // The crashed folder is still in the map (see stop below), so it must be told apart by its state.
          if (folder.state === 'stopped') {
            folder = this.newFolder(cfg);
            this.folders.set(cfg.id, folder);
          }
          try {
            await folder.start(crash);
          } catch (err) {
            this.deps.noteError(`folder ${cfg.id} failed to start: ${describeError(err)}; retrying`, err);
            throw err;
          }
        },
        // The stopped folder stays in the map until its restart replaces it (a config change removes it
        // there first): peers' index updates still reach the store meanwhile, and status still lists it.
        stop: () => folder.stop(),
      });
    }
  }

  /** Stops every folder's service, also one waiting to restart (not in the map) or stopping after a pause. */
  async stopAll(): Promise<void> {
    const ids = new Set([...this.folders.keys(), ...this.deps.config().folders.map((f) => f.id)]);
    await Promise.all([...ids].map((id) => this.deps.supervisor.remove(folderService(id))));
    await this.settled();
    this.folders.clear();
  }

  /** Stops folder `id`'s service (it ran on `root`) and keeps the stop in `stopping` until it has ended. */
  private stopService(id: string, root: string): void {
    const before = this.stopping.get(id)?.done;
    const stopped: Promise<void> = Promise.all([before, this.deps.supervisor.remove(folderService(id))]).then(
      () => undefined,
      (err: unknown) => this.deps.noteError(`folder ${id} did not stop cleanly: ${describeError(err)}`, err),
    );
    const done = stopped.finally(() => {
      if (this.stopping.get(id)?.done === done) this.stopping.delete(id);
    });
    this.stopping.set(id, { root, done });
  }

  /** Resolves once no stop under way is of folder `id` or of another folder on `root`. */
  private async stopsOn(id: string, root: string): Promise<void> {
    await Promise.all([...this.stopping].filter(([stoppingId, s]) => stoppingId === id || s.root === root).map(([, s]) => s.done));
  }

  /**
   * Re-reads the master ignore list; returns whether it changed. When it
   * did, every folder rescans: a newly ignored path stops syncing (and is
   * not deleted on peers), a newly un-ignored subtree is scanned and pulled.
   */
  reloadIgnore(): boolean {
    const next = this.readMasterIgnore();
    if (next === this.masterIgnore) return false;
    this.masterIgnore = next;
    for (const folder of this.folders.values()) folder.queueScan(['']);
    return true;
  }

  /** Reads the master ignore list before the first folder starts. */
  loadIgnore(): void {
    this.masterIgnore = this.readMasterIgnore();
  }

  /**
   * The master ignore list's text: '' when there is no file. A file that
   * cannot be read keeps the last good list in force; reading it as empty
   * would un-ignore everything and send ignored secrets to the peers.
   */
  private readMasterIgnore(): string | undefined {
    const file = ignorePath(this.deps.home);
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      const keeps = this.masterIgnore === undefined ? 'no folder is scanned until it can be read' : 'the last good ignore list stays in force';
      this.deps.noteError(`cannot read ${file}: ${describeError(err)}; ${keeps}`, err);
      return this.masterIgnore;
    }
  }

  private newFolder(cfg: Config['folders'][number]): Folder {
    const { deps } = this;
    return new Folder({
      id: cfg.id,
      root: cfg.path,
      store: deps.store,
      localId: shortId(deps.nodeId),
      nodeName: (id) => nodeNameOf(deps.config(), deps.nodeId, id),
      umask: deps.umask,
      clock: deps.clock,
      monotonicMs: deps.monotonicMs,
      trashClock: { now: () => deps.steady.notBefore() },
      log: deps.log.child({ folder: cfg.id }),
      masterIgnore: () => this.masterIgnore,
      limits: () => deps.config().limits,
      rescanIntervalMs: () => deps.config().rescanIntervalS * 1000,
      deletionBudget: () => deps.config().deletionBudget,
      tombstoneDays: () => deps.config().tombstoneDays,
      runner: deps.runner,
      slots: deps.slots,
      mode: () => deps.config().folders.find((f) => f.id === cfg.id)?.mode ?? 'send-receive',
      peers: deps.peers(cfg.id),
    });
  }
}
