/**
 * Keeps one outgoing link to a peer: dials while there is no link, backs off
 * (exponentially, with jitter) after each failure and after each link that
 * did not last, and dials again once a link is lost.
 *
 * A running backoff is never cut short: not by a link closing (the peer
 * dialing us and being dropped again would otherwise restart our dial at
 * once, and two nodes that drop each other's links would redial in a loop),
 * only by `stop`.
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
  /** How long from now the peer must not be dialed (a penalty for protocol violations, violation-backoff.ts); 0 when it may be. */
  readonly holdOffMs?: () => number;
  /** Told when the dial loop itself dies (a bug, not a failed dial); the supervisor restarts it. Logged when absent. */
  readonly onCrash?: (err: unknown) => void;
}

/** A link that lasted this long was healthy: the next redial starts from the shortest delay. */
const STABLE_LINK_MS = 30_000;

/** The dial loop for one peer. */
export class Redialer {
  private readonly abort = new AbortController();
  /** Wakes the loop waiting for the link to go down. */
  private wakeOnLinkDown: (() => void) | undefined;
  /** Ends a backoff pause early; `stop` calls it, and `hurry` during a pause after a failed dial. */
  private endPause: (() => void) | undefined;
  /** The running pause follows a failed dial (not a violation's hold-off, not a link that just died). */
  private pauseAfterFailure = false;
  /** The link that just went down was closed here to start over (a config change): dial again at once. */
  private restartNow = false;
  private attempt = 0;
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

  /**
   * A link to the peer went down: dial again, after the backoff the link's
   * life calls for. `restart`: this node closed it on purpose to start over
   * (its shares changed), which says nothing about the link's health, so the
   * dial is at once and the backoff does not grow.
   */
  linkDown(restart = false): void {
    if (this.wakeOnLinkDown === undefined) return;
    this.restartNow = restart;
    this.wakeOnLinkDown();
  }

  /**
   * The peer was just seen at a new address (LAN discovery): a pause after a
   * failed dial ends now. A violation's hold-off is still checked before the
   * dial, and a pause after a link died is left alone, so a stream of sightings
   * cannot turn into a redial storm.
   */
  hurry(): void {
    if (this.pauseAfterFailure) this.endPause?.();
  }

  /** Stops dialing; an attempt under way is aborted. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wakeOnLinkDown?.();
    this.endPause?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const { clock, random } = this.deps;
    while (!signal.aborted) {
      if (!this.deps.isConnected()) {
        const held = this.holdOff();
        if (held > 0) {
          this.deps.log.info({ retryInMs: held }, 'not dialing a peer that broke the protocol until its backoff ends');
          await this.pause(held);
          continue;
        }
        try {
          await this.deps.connect(signal);
        } catch (err) {
          if (signal.aborted) return;
          const delay = Math.max(backoffDelay(this.attempt++, random), this.holdOff());
          this.deps.log.info({ err: describeError(err), retryInMs: delay }, 'cannot connect to peer; will retry');
          this.pauseAfterFailure = true;
          await this.pause(delay);
          this.pauseAfterFailure = false;
          continue;
        }
      }
      // A link is up: the one we dialed, or one the peer dialed. It may be down again already:
      // a link the peer breaks during its start closes before `connect` returns.
      const upAt = clock.now();
      await this.untilLinkDown();
      if (signal.aborted) return;
      // A link that dies right after it came up (the peer drops us, say) must not turn into a redial storm.
      // A link we closed to start over is redialed at once, and counts as healthy only if it lasted.
      let delay = 0;
      const restart = this.restartNow;
      this.restartNow = false;
      if (clock.now() - upAt >= STABLE_LINK_MS) this.attempt = 0;
      else if (!restart) delay = backoffDelay(this.attempt++, random);
      await this.pause(Math.max(delay, this.holdOff()));
    }
  }

  private holdOff(): number {
    return Math.max(0, this.deps.holdOffMs?.() ?? 0);
  }

  /** Resolves once no link is up: at once when none is, else on `linkDown` (or `stop`). */
  private untilLinkDown(): Promise<void> {
    // Checked and armed in one synchronous step: a link cannot close in between.
    if (!this.deps.isConnected()) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeOnLinkDown = () => {
        this.wakeOnLinkDown = undefined;
        resolve();
      };
    });
  }

  /** Waits `ms`; only `stop` ends it early. */
  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.abort.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        cancel();
        this.endPause = undefined;
        resolve();
      };
      const cancel = this.deps.clock.setTimer(ms, done);
      this.endPause = done;
    });
  }
}
