/**
 * A small pool of worker threads for jobs.ts, sized by the `hashers` limit
 * (read at each dispatch, so a hot reload takes effect as jobs finish). Jobs
 * queue in order; a worker that dies fails its job and is replaced on demand.
 * Threads start when jobs come and end when none came for a while: each holds
 * a V8 isolate of several MiB, and a synced folder at rest needs none.
 */
import { Worker } from 'node:worker_threads';
import { type Clock, systemClock } from '../core/clock.js';
import { WizardError, type ErrorCode } from '../core/errors.js';
import { runJob, type JobKind, type Jobs } from './jobs.js';
import type { JobReply } from './worker.js';

/** Runs jobs somewhere other than the caller's stack. */
export interface JobRunner {
  /** Runs one job and resolves with its result; rejects with a WizardError carrying the job's code. */
  run<K extends JobKind>(kind: K, args: Jobs[K]['args']): Promise<Jobs[K]['result']>;
  /** Stops the workers; queued jobs fail with CLOSED. */
  close(): Promise<void>;
  /**
   * Starts a thread now, when none is idle and the pool has room, for a job
   * the caller expects to run shortly: a thread's start (34-115 ms here) then
   * overlaps the caller's wait instead of delaying the job. Optional.
   */
  warm?(): void;
}

/** Runs jobs on the calling thread (tests, tools): same results, no isolation. */
export const inlineRunner: JobRunner = {
  run: (kind, args) => new Promise((resolve) => resolve(runJob(kind, args))),
  close: () => Promise.resolve(),
};

type Task = { kind: JobKind; args: unknown; resolve: (v: unknown) => void; reject: (e: Error) => void };

/** How long a thread may wait for a job before it ends; a scan or a pull round keeps it busy well within this. */
export const WORKER_IDLE_MS = 15_000;

/** What a pool may be given besides its size. */
export interface WorkerPoolOptions {
  /** The compiled worker; the one beside this module by default. */
  readonly script?: URL;
  /** Times the idle end of threads. */
  readonly clock?: Clock;
  /** How long an idle thread lives; WORKER_IDLE_MS by default. */
  readonly idleMs?: number;
}

/** Worker threads running jobs.ts. */
export class WorkerPool implements JobRunner {
  /** Idle threads, the most recently used last, each with the cancel of its end timer. */
  private readonly idle: { worker: Worker; cancelEnd: () => void }[] = [];
  private readonly busy = new Set<Worker>();
  private readonly queue: Task[] = [];
  private closed = false;
  private readonly script: URL;
  private readonly clock: Clock;
  private readonly idleMs: number;

  constructor(
    private readonly size: () => number,
    options: WorkerPoolOptions = {},
  ) {
    this.script = options.script ?? new URL('./worker.js', import.meta.url);
    this.clock = options.clock ?? systemClock;
    this.idleMs = options.idleMs ?? WORKER_IDLE_MS;
  }

  /** Threads alive now, busy or idle. */
  threads(): number {
    return this.idle.length + this.busy.size;
  }

  run<K extends JobKind>(kind: K, args: Jobs[K]['args']): Promise<Jobs[K]['result']> {
    if (this.closed) return Promise.reject(new WizardError('CLOSED', 'worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, args, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  warm(): void {
    if (this.closed || this.idle.length > 0 || this.threads() >= Math.max(1, this.size())) return;
    const worker = new Worker(this.script);
    // An idle thread does not keep the process alive (as in start()'s done).
    worker.unref();
    this.rest(worker);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new WizardError('CLOSED', 'worker pool closed'));
    for (const { cancelEnd } of this.idle) cancelEnd();
    const all = [...this.idle.map(({ worker }) => worker), ...this.busy];
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const spare = this.idle.pop();
      spare?.cancelEnd();
      let worker = spare?.worker;
      if (worker === undefined) {
        if (this.busy.size >= Math.max(1, this.size())) return;
        worker = new Worker(this.script);
      }
      this.start(worker, this.queue.shift() as Task);
    }
  }

  /** Puts a thread among the idle ones, to end if no job takes it within idleMs. */
  private rest(worker: Worker): void {
    const spare = {
      worker,
      cancelEnd: this.clock.setTimer(this.idleMs, () => {
        const at = this.idle.indexOf(spare);
        if (at < 0) return;
        this.idle.splice(at, 1);
        void worker.terminate();
      }),
    };
    this.idle.push(spare);
  }

  private start(worker: Worker, task: Task): void {
    this.busy.add(worker);
    // A job in progress keeps the process alive; an idle worker does not.
    worker.ref();
    const done = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      worker.unref();
      this.busy.delete(worker);
    };
    const onMessage = (reply: JobReply) => {
      done();
      if (!this.closed && this.threads() < Math.max(1, this.size())) this.rest(worker);
      else void worker.terminate();
      if (reply.ok) task.resolve(reply.result);
      else task.reject(new WizardError(reply.code as ErrorCode, reply.message));
      this.dispatch();
    };
    const onError = (err: Error) => {
      done();
      task.reject(new WizardError('INTERNAL', `worker failed running ${task.kind}: ${err.message}`, { cause: err }));
      this.dispatch();
    };
    const onExit = (code: number) => onError(new Error(`worker exited with code ${code}`));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ kind: task.kind, args: task.args });
  }
}
