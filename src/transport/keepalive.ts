/**
 * Keeps one session alive and honest about its peer: a ping when nothing
 * was sent for the ping interval (NAT and firewalls drop quiet flows), the
 * round trip of each ping for status, and the end of a link whose peer has
 * sent nothing (the reader's silence) or read nothing (the writer's stall)
 * for the idle timeout. Checked three times per interval on the session's
 * clock.
 */
import type { Clock } from '../core/clock.js';

/** What the keepalive needs from its session. */
export interface KeepaliveDeps {
  readonly clock: Clock;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  /** Why the link is dead at `now` after `idleMs` without traffic either way, or undefined. */
  readonly deadBecause: (now: number, idleMs: number) => string | undefined;
  /** When we last sent anything. */
  readonly lastSentAt: () => number;
  /** Sends a ping (at most one waiting). */
  readonly sendPing: () => void;
  /** Ends the session. */
  readonly close: (reason: string) => void;
}

/** The ping and idle timer of one session. */
export class Keepalive {
  private pingSentAt: number | undefined;
  private lastPingAt: number;
  private latency: number | undefined;
  private cancelTick: (() => void) | undefined;

  constructor(private readonly deps: KeepaliveDeps) {
    this.lastPingAt = deps.clock.now();
  }

  /** The last ping's round trip in milliseconds, once one came back. */
  get latencyMs(): number | undefined {
    return this.latency;
  }

  /** Starts the timer. */
  start(): void {
    const { clock, pingIntervalMs, idleTimeoutMs } = this.deps;
    this.cancelTick = clock.setTimer(Math.min(pingIntervalMs, idleTimeoutMs) / 3, () => {
      const now = clock.now();
      const gone = this.deps.deadBecause(now, idleTimeoutMs);
      if (gone !== undefined) {
        this.deps.close(gone);
        return;
      }
      if (now - this.lastPingAt >= pingIntervalMs || now - this.deps.lastSentAt() >= pingIntervalMs) this.ping();
      this.start();
    });
  }

  /** Stops the timer. */
  stop(): void {
    this.cancelTick?.();
    this.cancelTick = undefined;
  }

  /** Sends a ping and times its pong (one at a time: a ping unanswered keeps its start time). */
  ping(): void {
    const now = this.deps.clock.now();
    this.lastPingAt = now;
    this.pingSentAt ??= now;
    this.deps.sendPing();
  }

  /** The peer's pong came. */
  pong(): void {
    if (this.pingSentAt !== undefined) this.latency = this.deps.clock.now() - this.pingSentAt;
    this.pingSentAt = undefined;
  }
}
