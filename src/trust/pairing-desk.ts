/**
 * Answers pairing requests (a Hello with intent 'pair') on the accepting
 * node. With `trust: ca`, or from a node already recorded, it records the
 * node at once, shares with it the offered folders this node has, and
 * answers with those; with `trust: allowlist`, a node not yet recorded waits
 * in `requests` until `accept` (`wizard peer accept`).
 */
import type { Logger } from 'pino';
import { editConfig } from '../config/file.js';
import { pairPeer } from '../config/edit.js';
import { commonFolders } from '../config/shares.js';
import type { Config, PeerConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { describeError, WizardError } from '../core/errors.js';
import type { Hello } from '../protocol/messages.js';
import { formatHostPort } from '../transport/address.js';
import { short, type PeerSession } from '../transport/session.js';
import { AWAITING_APPROVAL, pairHello } from './pair-hello.js';
import { PairingRequests } from './pairing-requests.js';

/** What the desk needs of the node. */
export interface PairingDeskDeps {
  readonly home: string;
  readonly homeDir: string;
  readonly nodeId: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** The config in force. */
  readonly config: () => Config;
  /** The port we listen on, for our answer (0 when not listening). */
  readonly listenPort: () => number;
  /** Applies a config the desk wrote (a new peer and its shares). */
  readonly applyConfig: (config: Config) => void;
  /** Reports an error to the log and status. */
  readonly noteError: (message: string, err: unknown) => void;
}

/** The accepting side of pairing. */
export class PairingDesk {
  /** Requests waiting for 'wizard peer accept' (trust: allowlist). */
  readonly requests = new PairingRequests();

  constructor(private readonly deps: PairingDeskDeps) {}

  /** Answers the pair Hello `theirs` that arrived on `session` from `remoteAddress`, then closes the session. */
  async answer(session: PeerSession, theirs: Hello, remoteAddress: string, log: Logger): Promise<void> {
    const config = this.deps.config();
    const peer = pairingPeer(theirs, remoteAddress);
    const offered = theirs.folders.map((f) => f.id);
    if (!config.peers.some((p) => p.id === peer.id) && config.trust === 'allowlist') {
      // A CA signature alone is not enough here: a person on this node says yes ('wizard peer accept').
      this.requests.add({ ...peer, folders: offered, atMs: this.deps.clock.now() });
      log.info({ name: theirs.name }, "pairing request waits for 'wizard peer accept' (trust: allowlist)");
      session.close(`${AWAITING_APPROVAL}: run 'wizard peer accept ${short(peer.id)}' on ${config.name}`);
      return;
    }
    const shared = this.record(peer, offered);
    if (shared === undefined) {
      session.close('pairing failed on the other node; its log says why');
      return;
    }
    await session.handshake(pairHello(this.deps.nodeId, this.deps.config().name, this.deps.listenPort(), shared));
    session.close('paired');
  }

  /** `wizard peer accept`: records the node whose request waits, with the folders it offered that we have; returns those. */
  accept(id: string): string[] {
    const request = this.requests.take(id);
    if (request === undefined) throw new WizardError('USAGE', `no pairing request from ${short(id)} waits here; 'wizard status' lists them`);
    const shared = this.record({ id: request.id, name: request.name, address: request.address }, request.folders);
    if (shared === undefined) throw new WizardError('CONFIG', `could not record ${short(id)}; the daemon's log says why`);
    return shared;
  }

  /** Records `peer` and shares with it those of `offered` we have; undefined when the config could not be written. */
  private record(peer: PeerConfig, offered: readonly string[]): string[] | undefined {
    const shared = commonFolders(this.deps.config(), offered);
    try {
      const next = editConfig(this.deps.home, (text) => pairPeer(text, peer, shared), { homeDir: this.deps.homeDir });
      this.deps.log.info({ peer: short(peer.id), name: peer.name, address: peer.address, shared }, 'paired');
      this.deps.applyConfig(next);
      return shared;
    } catch (err) {
      this.deps.noteError(`pairing with ${short(peer.id)} failed: ${describeError(err)}`, err);
      return undefined;
    }
  }
}

/** The peer a pairing Hello describes, with the address to dial it back at: the connection's IP and the Hello's port. */
function pairingPeer(theirs: Hello, remoteAddress: string): PeerConfig {
  const host = remoteAddress.replace(/^::ffff:/, '');
  return { id: theirs.id, name: theirs.name, address: theirs.listenPort > 0 && host !== '' ? formatHostPort(host, theirs.listenPort) : '' };
}
