/**
 * One supervised dial loop (redialer.ts) per peer the node should dial: a
 * peer with an address that is not us and not revoked. A peer whose address
 * changed gets a new loop; a peer that is gone loses its loop.
 */
import type { Logger } from 'pino';
import type { PeerConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { Redialer } from './redialer.js';
import { short } from './session.js';

/** What the dial loops need from the node. */
export interface DialersDeps {
  readonly supervisor: Supervisor;
  readonly clock: Clock;
  readonly log: Logger;
  readonly random: () => number;
  /** Dials `peer` and makes the session its link; rejects when that fails. */
  readonly connect: (peer: PeerConfig, signal: AbortSignal) => Promise<void>;
  /** A link to the peer is up (in either direction). */
  readonly isConnected: (peerId: string) => boolean;
  /** How long from now the peer must not be dialed (violation-backoff.ts). */
  readonly holdOffMs: (peerId: string) => number;
}

/** The node's dial loops, by peer. */
export class Dialers {
  /** The wanted loops; `redialer` is the live one while its supervised service runs. */
  private readonly loops = new Map<string, { address: string; redialer: Redialer | undefined }>();

  constructor(private readonly deps: DialersDeps) {}

  /** Makes the loops match `peers` (those to dial: with an address, not us, not revoked). */
  sync(peers: readonly PeerConfig[]): void {
    const wanted = new Map(peers.map((p) => [p.id, p]));
    for (const [id, loop] of this.loops) {
      if (wanted.get(id)?.address !== loop.address) {
        this.loops.delete(id);
        void this.deps.supervisor.remove(dialerService(id));
      }
    }
    for (const peer of wanted.values()) {
      if (this.loops.has(peer.id)) continue;
      const slot: { address: string; redialer: Redialer | undefined } = { address: peer.address, redialer: undefined };
      this.loops.set(peer.id, slot);
      void this.deps.supervisor.add({
        name: dialerService(peer.id),
        start: (crash) => {
          slot.redialer = new Redialer({
            clock: this.deps.clock,
            log: this.deps.log.child({ peer: short(peer.id) }),
            random: this.deps.random,
            connect: (signal) => this.deps.connect(peer, signal),
            isConnected: () => this.deps.isConnected(peer.id),
            holdOffMs: () => this.deps.holdOffMs(peer.id),
            onCrash: crash,
          });
          slot.redialer.start();
        },
        stop: async () => {
          await slot.redialer?.stop();
          slot.redialer = undefined;
        },
      });
    }
  }

  /** A link to `peerId` went down; `restart`: closed here to start over (see Redialer.linkDown). */
  linkDown(peerId: string, restart = false): void {
    this.loops.get(peerId)?.redialer?.linkDown(restart);
  }

  /** `peerId` was just seen at a new address: a loop waiting after a failed dial tries again now. */
  hurry(peerId: string): void {
    this.loops.get(peerId)?.redialer?.hurry();
  }

  /** Stops every loop. */
  async stop(): Promise<void> {
    const ids = [...this.loops.keys()];
    this.loops.clear();
    await Promise.all(ids.map((id) => this.deps.supervisor.remove(dialerService(id))));
  }
}

/** The supervisor's name for the dialer of a peer. */
function dialerService(peerId: string): string {
  // The whole ID: two peers whose IDs share a prefix must not replace each other's dialer.
  return `dial:${peerId}`;
}
