/**
 * The node's budget for serving peers: bytes read from disk and bytes hashed
 * per second, and requests worked on at once per peer, shared fairly between
 * the peers that ask at the same time.
 *
 * A request costs us far more than it costs the peer: a 161-byte sums request
 * can mean hashing 16 MiB of a file, and a peer may keep 256 requests in
 * flight. Unbudgeted, one peer could keep every hashing thread busy (the
 * node's own scans queue behind them) and every core hot. Block reads are paid
 * for by the peer too, as it must download them, so their rate is generous;
 * hashing is not, so its rate is what bounds a flood's CPU.
 *
 * Fairness is start-time fair queueing: each link has a tag, the work it was
 * granted (a hashed byte counting HASH_WEIGHT read bytes); the link with the
 * lowest tag goes next, and a link that was idle starts at the current
 * virtual time, so idling banks no credit. A link whose next request waits for
 * a rate does not hold up a link whose next request needs the other one.
 */
import type { Clock } from '../../core/clock.js';
import { WizardError } from '../../core/errors.js';
import { TokenBucket } from '../../transport/token-bucket.js';

/** What serving one request costs. */
export interface ServeCost {
  /** Bytes read from disk. */
  readonly readBytes: number;
  /** Bytes hashed (block sums computed from the file). */
  readonly hashBytes: number;
}

/** Rates and limits; the defaults suit a daemon, tests may shrink them. */
export interface ServeBudgetOptions {
  /** Bytes read per second for all peers together. */
  readonly readBytesPerSecond?: number;
  /** Bytes hashed per second for all peers together. */
  readonly hashBytesPerSecond?: number;
  /** Requests of one link worked on at once; the rest wait their turn. */
  readonly maxInFlightPerLink?: number;
}

/**
 * Reads: 1 GiB/s, far above what this machine syncs a big file at (about
 * 90 MiB/s for BIG in docs/BENCHMARKS.md) or Syncthing does (270 MiB/s), so
 * an honest download never waits for it.
 */
const DEFAULT_READ_BYTES_PER_SECOND = 1024 * 1024 * 1024;
/**
 * Hashing: 64 MiB/s, about a fifth of one core (sums of 16 MiB take 45 ms of
 * CPU here). An honest peer asks for computed sums only for files under
 * 1 MiB (bigger ones have stored sums) and for 1 KiB refinements of at most
 * 64 blocks of a file (4 MiB at most, delta-plan.ts): tens of milliseconds
 * of this rate per file at worst.
 */
const DEFAULT_HASH_BYTES_PER_SECOND = 64 * 1024 * 1024;
/**
 * Per link: 16 requests worked on at once, twice the downloader's window for
 * one file (fetch.ts WINDOW); a small-file burst's requests are read inline in
 * microseconds, so they pass through it as fast as they come.
 */
const DEFAULT_MAX_IN_FLIGHT_PER_LINK = 16;
/** A hashed byte costs about this many read bytes of CPU (page-cache reads run near 3 GiB/s, sums near 350 MiB/s). */
const HASH_WEIGHT = 8;

interface Job {
  readonly cost: ServeCost;
  readonly start: () => void;
  readonly reject: (err: Error) => void;
}

/** One link's queue. */
interface Queue {
  readonly jobs: Job[];
  inFlight: number;
  /** Virtual time at the end of the work granted so far. */
  tag: number;
  closed: boolean;
}

/** One link's share of the budget. */
export interface ServeQueue {
  /** Runs `work` once the link's turn and the rates allow; rejects with CLOSED if the queue closes first. */
  run<T>(cost: ServeCost, work: () => Promise<T>): Promise<T>;
  /** The link ended: requests still waiting are dropped (their answers could not be sent). */
  close(): void;
}

/** The node's serving budget. */
export class ServeBudget {
  private readonly queues = new Set<Queue>();
  private readonly read: TokenBucket;
  private readonly hash: TokenBucket;
  private readonly maxInFlight: number;
  /** Virtual time: the tag of the last work granted. */
  private virtual = 0;
  private cancelTimer: (() => void) | undefined;
  private timerAtMs = Infinity;

  constructor(
    private readonly deps: { readonly clock: Clock },
    opts: ServeBudgetOptions = {},
  ) {
    const now = () => deps.clock.now();
    const readRate = opts.readBytesPerSecond ?? DEFAULT_READ_BYTES_PER_SECOND;
    const hashRate = opts.hashBytesPerSecond ?? DEFAULT_HASH_BYTES_PER_SECOND;
    this.read = new TokenBucket(() => readRate, now);
    this.hash = new TokenBucket(() => hashRate, now);
    this.maxInFlight = opts.maxInFlightPerLink ?? DEFAULT_MAX_IN_FLIGHT_PER_LINK;
  }

  /** A queue for one link. */
  open(): ServeQueue {
    const queue: Queue = { jobs: [], inFlight: 0, tag: this.virtual, closed: false };
    this.queues.add(queue);
    return {
      run: (cost, work) => this.enqueue(queue, cost, work),
      close: () => {
        queue.closed = true;
        this.queues.delete(queue);
        for (const job of queue.jobs.splice(0)) job.reject(new WizardError('CLOSED', 'the link closed before its turn to be served'));
      },
    };
  }

  private enqueue<T>(queue: Queue, cost: ServeCost, work: () => Promise<T>): Promise<T> {
    if (queue.closed) return Promise.reject(new WizardError('CLOSED', 'the link is closed'));
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        // A throw inside `work` before its first await is a rejection like any other.
        let running: Promise<T>;
        try {
          running = work();
        } catch (err) {
          running = Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
        running.then(resolve, reject).finally(() => {
          queue.inFlight--;
          this.pump();
        });
      };
      // A link that was idle starts at the current virtual time: idling banks no credit.
      if (queue.jobs.length === 0 && queue.inFlight === 0) queue.tag = Math.max(queue.tag, this.virtual);
      queue.jobs.push({ cost, start, reject });
      this.pump();
    });
  }

  /** Grants work while a link has a turn and its next request's rates allow. */
  private pump(): void {
    for (;;) {
      let best: Queue | undefined;
      let waitMs = Infinity;
      for (const q of this.queues) {
        const job = q.jobs[0];
        if (job === undefined || q.inFlight >= this.maxInFlight) continue;
        const wait = this.waitFor(job.cost);
        if (wait > 0) {
          waitMs = Math.min(waitMs, wait);
          continue;
        }
        if (best === undefined || q.tag < best.tag) best = q;
      }
      if (best === undefined) {
        if (waitMs !== Infinity) this.wakeIn(waitMs);
        return;
      }
      const job = best.jobs.shift() as Job;
      this.virtual = best.tag;
      best.tag += job.cost.readBytes + HASH_WEIGHT * job.cost.hashBytes;
      best.inFlight++;
      if (job.cost.readBytes > 0) this.read.take(job.cost.readBytes);
      if (job.cost.hashBytes > 0) this.hash.take(job.cost.hashBytes);
      job.start();
    }
  }

  /** How long a request of `cost` must wait for the rates it uses (0: it may start). */
  private waitFor(cost: ServeCost): number {
    return Math.max(cost.readBytes > 0 ? this.read.waitMs() : 0, cost.hashBytes > 0 ? this.hash.waitMs() : 0);
  }

  /** Pumps again in `ms`, unless a pump is already due by then. */
  private wakeIn(ms: number): void {
    const at = this.deps.clock.now() + ms;
    if (this.cancelTimer !== undefined && this.timerAtMs <= at) return;
    this.cancelTimer?.();
    this.timerAtMs = at;
    this.cancelTimer = this.deps.clock.setTimer(ms, () => {
      this.cancelTimer = undefined;
      this.timerAtMs = Infinity;
      this.pump();
    });
  }
}
