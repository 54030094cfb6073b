/**
 * The index's WAL checkpoints, from a connection of its own on a worker
 * thread (checkpoint-worker.ts) instead of inside the main thread's commits.
 *
 * SQLite's default is an automatic checkpoint in the commit that takes the
 * WAL past 1,000 pages: it copies the pages into the database file and
 * fsyncs both files, on the thread that committed. In a pull of many small
 * files that was most of what the main thread's commits cost (SMALL, issue
 * 17). Here the main connection's automatic checkpoint is off; after each
 * write of the store the WAL's length is read from its wal-index
 * (wal-index.ts, a read of 100 bytes) and, at the same 1,000 pages, the
 * worker is asked for a passive checkpoint, one request at a time.
 *
 * The WAL stays bounded: a passive checkpoint copies only frames no reader
 * still needs, and the WAL starts over only when every frame was copied
 * before a write begins, which the main thread's own writes during the
 * worker's checkpoint can keep from happening. Past FALLBACK_PAGES the main
 * connection checkpoints after its commit as SQLite did (the checkpoint then
 * ends with every frame copied unless a reader holds it back, as before);
 * a worker that fails or dies hands the checkpoints back to SQLite for good.
 * The thread starts at the first checkpoint and ends when none was asked for
 * a while (IDLE_MS): it holds a V8 isolate and a connection, and a folder at
 * rest writes too little to need it.
 *
 * Why a crash at any moment loses nothing committed: a checkpoint, whoever
 * runs it, only copies frames of committed transactions from the WAL into
 * the database; it fsyncs the WAL before the first copy and the database
 * before it records the frames as copied, and only after that record may a
 * writer start the WAL over. Until then every committed transaction is
 * whole in the WAL, which the next open (after a kill -9 or a power cut)
 * reads. Which thread runs the checkpoint changes none of that; the
 * durability of a commit itself is `synchronous = NORMAL` (store.ts), as
 * before.
 */
import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type Clock, systemClock } from '../core/clock.js';
import type { CheckpointReply, CheckpointWorkerData } from './checkpoint-worker.js';
import type { IndexStore } from './store.js';
import { type CheckpointResult, readWalIndex } from './wal-index.js';

/** WAL pages at which a checkpoint is asked for: SQLite's own `wal_autocheckpoint` default. */
export const CHECKPOINT_PAGES = 1_000;

/** WAL pages past which the main connection checkpoints itself, as SQLite would (16 MiB of 4 KiB pages). */
export const FALLBACK_PAGES = 4 * CHECKPOINT_PAGES;

/** How long the thread lives after its last checkpoint; a pull or a scan asks again well within this. */
export const IDLE_MS = 10_000;

/** What a checkpointer may be given besides the store. */
export interface WalCheckpointerOptions {
  /** The compiled worker; the one beside this module by default. */
  readonly script?: URL;
  /** CHECKPOINT_PAGES by default. */
  readonly pages?: number;
  /** FALLBACK_PAGES by default. */
  readonly fallbackPages?: number;
  /** Hears why the worker stopped checkpointing (SQLite's own checkpoints are back on). */
  readonly onFailure?: (err: Error) => void;
  /** Times the idle end of the thread. */
  readonly clock?: Clock;
  /** IDLE_MS by default. */
  readonly idleMs?: number;
}

/** Checkpoints so far, by where they ran. */
export interface WalCheckpointCounts {
  /** Passive checkpoints the worker ran. */
  readonly offThread: number;
  /** Passive checkpoints the main connection ran because the WAL was past the fallback size. */
  readonly onThread: number;
  /** Frames the worker's checkpoints copied into the database. */
  readonly copiedOffThread: number;
  /** Frames the main connection's checkpoints copied. */
  readonly copiedOnThread: number;
  /** Whether the worker failed and SQLite's own checkpoints are back. */
  readonly failed: boolean;
}

/** A worker thread that checkpoints the index's WAL (see the module comment). */
export class WalCheckpointer {
  readonly #store: IndexStore;
  readonly #file: string;
  readonly #script: URL;
  readonly #clock: Clock;
  readonly #idleMs: number;
  /** The thread while it lives, and when it exits. */
  #worker: Worker | undefined;
  #exited: Promise<void> = Promise.resolve();
  #cancelIdleEnd: () => void = () => undefined;
  readonly #shm: number;
  readonly #scratch = Buffer.alloc(128);
  readonly #pages: number;
  readonly #fallbackPages: number;
  readonly #onFailure: (err: Error) => void;
  readonly #checkpointHere: () => CheckpointResult | undefined;
  /** Frames already copied when the request with the worker was made; undefined while none is. */
  #asked: number | undefined;
  #stopped = false;
  #offThread = 0;
  #onThread = 0;
  #copiedOffThread = 0;
  #copiedOnThread = 0;
  #failed = false;

  private constructor(store: IndexStore, file: string, options: WalCheckpointerOptions) {
    this.#store = store;
    this.#file = file;
    this.#script = options.script ?? new URL('./checkpoint-worker.js', import.meta.url);
    this.#clock = options.clock ?? systemClock;
    this.#idleMs = options.idleMs ?? IDLE_MS;
    this.#pages = options.pages ?? CHECKPOINT_PAGES;
    this.#fallbackPages = options.fallbackPages ?? FALLBACK_PAGES;
    this.#onFailure = options.onFailure ?? (() => undefined);
    // The store opened the database in WAL mode and read it, so the wal-index exists; it lives as long as a connection does.
    this.#shm = openSync(`${file}-shm`, 'r');
    this.#checkpointHere = store.checkpointsElsewhere(() => this.#committed());
  }

  /** Takes over `store`'s checkpoints; `file` is the database it opened. Undefined (and onFailure told why) if its wal-index cannot be read: SQLite keeps them. */
  static start(store: IndexStore, file: string, options: WalCheckpointerOptions = {}): WalCheckpointer | undefined {
    try {
      return new WalCheckpointer(store, file, options);
    } catch (err) {
      options.onFailure?.(err as Error);
      return undefined;
    }
  }

  /** Whether the thread is alive now (it starts at the first checkpoint and ends when idle). */
  threadAlive(): boolean {
    return this.#worker !== undefined;
  }

  /** Checkpoints so far, by where they ran. */
  counts(): WalCheckpointCounts {
    return { offThread: this.#offThread, onThread: this.#onThread, copiedOffThread: this.#copiedOffThread, copiedOnThread: this.#copiedOnThread, failed: this.#failed };
  }

  /** Hands the checkpoints back to SQLite and ends the worker (its connection closed); before the store closes. */
  async close(): Promise<void> {
    if (!this.#stopped) this.#stop();
    this.#endWorker();
    await this.#exited;
  }

  /** After a write of the store: asks for a checkpoint at #pages, runs one here past #fallbackPages. */
  #committed(): void {
    let wal;
    try {
      wal = readWalIndex(this.#shm, this.#scratch);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    if (wal === undefined || wal.frames < this.#pages || wal.backfilled >= wal.frames) return;
    if (wal.frames >= this.#fallbackPages) {
      // Mostly the frames of the commits made during the worker's last checkpoint: it copied the rest.
      const done = this.#checkpointHere();
      this.#onThread++;
      if (done !== undefined && done.busy === 0) this.#copiedOnThread += Math.max(0, done.checkpointed - wal.backfilled);
    } else if (this.#asked === undefined) {
      this.#cancelIdleEnd();
      this.#asked = wal.backfilled;
      (this.#worker ?? this.#startWorker()).postMessage('checkpoint');
    }
  }

  #startWorker(): Worker {
    const workerData: CheckpointWorkerData = { file: this.#file };
    const worker = new Worker(this.#script, { workerData });
    // The daemon's services keep the process alive; this thread only serves them.
    worker.unref();
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: CheckpointReply) => this.#answered(reply));
    worker.on('error', (err) => this.#fail(err));
    worker.on('exit', (code) => {
      if (this.#worker === worker) this.#fail(new Error(`the WAL checkpoint thread exited with code ${code}`));
    });
    this.#worker = worker;
    return worker;
  }

  /** Asks the thread to close its connection and end; its exit is then expected. */
  #endWorker(): void {
    this.#cancelIdleEnd();
    const worker = this.#worker;
    this.#worker = undefined;
    worker?.postMessage('close');
  }

  #answered(reply: CheckpointReply): void {
    const before = this.#asked ?? 0;
    this.#asked = undefined;
    if (!reply.ok) {
      this.#fail(new Error(`WAL checkpoint on its thread: ${reply.message}`));
      return;
    }
    this.#offThread++;
    // A WAL started over since the request (by a main-thread checkpoint and a write) makes this an estimate.
    if (reply.busy === 0) this.#copiedOffThread += Math.max(0, reply.checkpointed - before);
    if (!this.#stopped) this.#cancelIdleEnd = this.#clock.setTimer(this.#idleMs, () => this.#endWorker());
  }

  #fail(err: Error): void {
    if (this.#stopped) return;
    this.#failed = true;
    this.#stop();
    this.#cancelIdleEnd();
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    this.#onFailure(err);
  }

  /** SQLite's own checkpoints back on the main connection, the wal-index no longer read. */
  #stop(): void {
    this.#stopped = true;
    this.#store.checkpointsElsewhere(undefined);
    closeSync(this.#shm);
  }
}
