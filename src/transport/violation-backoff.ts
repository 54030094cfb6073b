/**
 * Peers whose messages fail validation are left alone for minutes: not
 * dialed until their penalty ends. A peer that breaks the protocol once will
 * break it again on the next link (a compromised node, a bug in its version),
 * and every link costs a TLS handshake and an index exchange; redialing it at
 * the pace of the ordinary backoff spends that every minute, forever. (Its
 * own dials are still accepted: they are paced by its backoff, and each one
 * that breaks the protocol again lengthens the penalty.)
 *
 * The penalty doubles with each violation, from VIOLATION_PENALTY_MS up to
 * MAX_VIOLATION_PENALTY_MS; a peer that has kept to the protocol for
 * FORGIVE_AFTER_MS since its last violation starts from the shortest again.
 */

/** Penalty after a first violation: long enough that a misbehaving peer costs little, short enough for a one-off bug. */
export const VIOLATION_PENALTY_MS = 60_000;
/** Longest penalty. */
export const MAX_VIOLATION_PENALTY_MS = 30 * 60_000;
/** Quiet time after which a peer's past violations no longer count. */
export const FORGIVE_AFTER_MS = 2 * MAX_VIOLATION_PENALTY_MS;

/**
 * Whether a session ended because the peer broke the protocol: PeerSession
 * gives every close for a peer's violation (a frame or message that fails
 * validation, a second Hello, too many requests) a reason starting
 * 'protocol error'; a close the peer sent us reads 'peer closed: ...'.
 */
export function isViolation(closeReason: string): boolean {
  return closeReason.startsWith('protocol error');
}

/** What status shows of a peer under a penalty. */
export interface ViolationStatus {
  /** Violations counted (consecutive, see FORGIVE_AFTER_MS). */
  readonly violations: number;
  /** When the peer may be dialed again (ms since the epoch). */
  readonly untilMs: number;
  /** Why the last link was closed, as logged (peer strings already escaped by the reason's maker). */
  readonly lastReason: string;
}

/** The node's record of peers that broke the protocol. */
export class ViolationBackoff {
  private readonly peers = new Map<string, { violations: number; lastAtMs: number; untilMs: number; lastReason: string }>();

  /** `now` is elapsed time in ms that a wall-clock step does not move (the node's monotonic clock). */
  constructor(
    private readonly now: () => number,
    private readonly wallNow: () => number,
  ) {}

  /** A link to `peer` was closed because the peer broke the protocol. */
  record(peer: string, reason: string): void {
    const now = this.now();
    const last = this.peers.get(peer);
    const violations = last !== undefined && now - last.lastAtMs < FORGIVE_AFTER_MS ? last.violations + 1 : 1;
    const penalty = Math.min(MAX_VIOLATION_PENALTY_MS, VIOLATION_PENALTY_MS * 2 ** (violations - 1));
    this.peers.set(peer, { violations, lastAtMs: now, untilMs: now + penalty, lastReason: reason });
  }

  /** Milliseconds until `peer` may be dialed again; 0 when it may be now. */
  waitMs(peer: string): number {
    const state = this.peers.get(peer);
    return state === undefined ? 0 : Math.max(0, state.untilMs - this.now());
  }

  /** The penalty of `peer` for status, while it has violations that count; undefined otherwise. */
  status(peer: string): ViolationStatus | undefined {
    const state = this.peers.get(peer);
    if (state === undefined) return undefined;
    const now = this.now();
    if (now - state.lastAtMs >= FORGIVE_AFTER_MS) {
      this.peers.delete(peer);
      return undefined;
    }
    return { violations: state.violations, untilMs: this.wallNow() + Math.max(0, state.untilMs - now), lastReason: state.lastReason };
  }
}
