/**
 * Short waits for a node to become a peer. A node that has just paired with
 * us dials at once, and may arrive a moment before the `wizard pair` that
 * recorded it here has reloaded this daemon's config; refusing it then would
 * tell both daemons "not paired" about a pairing that worked. So an unknown
 * node's Hello waits a few seconds for the config to name it.
 */
import type { Clock } from '../core/clock.js';

/** How long an unknown node may wait for the config to name it. */
export const UNKNOWN_PEER_GRACE_MS = 5000;

/** Waits that end when a condition holds after a config change, or time runs out. */
export class PeerWaits {
  /** Each wait's check: `force` ends it with false. */
  private readonly checks = new Set<(force?: boolean) => void>();

  constructor(private readonly clock: Clock) {}

  /** Resolves true as soon as `known()` holds (now, or at a later `configChanged`), false after `ms` or at `stop`. */
  wait(known: () => boolean, ms = UNKNOWN_PEER_GRACE_MS): Promise<boolean> {
    if (known()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (result: boolean) => {
        cancel();
        this.checks.delete(check);
        resolve(result);
      };
      const check = (force = false) => {
        if (force) finish(false);
        else if (known()) finish(true);
      };
      const cancel = this.clock.setTimer(ms, () => finish(false));
      this.checks.add(check);
    });
  }

  /** The config changed: every wait checks its condition again. */
  configChanged(): void {
    for (const check of [...this.checks]) check();
  }

  /** Ends every wait with false (the node is stopping). */
  stop(): void {
    for (const check of [...this.checks]) check(true);
  }
}
