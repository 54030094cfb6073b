/**
 * Keeps one outgoing link to a peer: dials while there is no link, backs off
 * (exponentially, with jitter) after each failure, and starts again the
 * moment a link is lost.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { backoffDelay } from './backoff.js';

/** What a redialer needs. */
export interface RedialerDeps {
  readonly clock: Clock;
  readonly log: Logger;
  /** Uniform [0, 1); injected so tests can pin the jitter. */
  readonly random: () => number;
  /** Dials and completes the handshake; rejects when that fails. */
  readonly connect: (signal: AbortSignal) => Promise<void>;
  /** A link to the peer is up (in either direction). */
  readonly isConnected: () => boolean;
  /** Told when the dial loop itself dies (a bug, not a failed dial); the supervisor restarts it. Logged when absent. */
  readonly onCrash?: (err: unknown) => void;
}

/** A link that lasted this long was healthy: the next redial starts from the shortest delay. */
const STABLE_LINK_MS = 30_000;

/** The dial loop for one peer. */
export class Redialer {
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private attempt = 0;
  private connectedAt = 0;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: RedialerDeps) {}

  /** Starts the loop. */
  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      if (this.abort.signal.aborted) return;
      if (this.deps.onCrash !== undefined) this.deps.onCrash(err);
      else this.deps.log.error({ err }, 'dial loop failed');
    });
  }

  /** The link went down (or the peer's address changed): try again. */
  kick(): void {
    this.wake?.();
  }

  /** Stops dialing; an attempt under way is aborted. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      if (this.deps.isConnected()) {
        await this.waitForKick();
        // A link that dies right after it came up (the peer drops us, say) must not turn into a redial storm.
        if (this.deps.clock.now() - this.connectedAt < STABLE_LINK_MS) await this.waitForKick(backoffDelay(this.attempt++, this.deps.random));
        else this.attempt = 0;
        continue;
      }
      try {
        await this.deps.connect(signal);
        this.connectedAt = this.deps.clock.now();
        continue;
      } catch (err) {
        if (signal.aborted) return;
        const delay = backoffDelay(this.attempt++, this.deps.random);
        this.deps.log.info({ err: describeError(err), retryInMs: delay }, 'cannot connect to peer; will retry');
        await this.waitForKick(delay);
      }
    }
  }

  /** Resolves on kick/stop, or after `ms` when given. */
  private waitForKick(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = ms === undefined ? () => {} : this.deps.clock.setTimer(ms, () => done());
      const done = () => {
        cancel();
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }
}
