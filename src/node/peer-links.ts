/**
 * The node's links to its peers: a connection accepted or dialed becomes a
 * session, the session a link once both Hellos are through, and there is at
 * most one link per peer (when both ends dial at once, the connection whose
 * dialer has the lower node ID wins, so the two agree without talking about
 * it). What a link sent and received is kept when it ends, so a peer's
 * totals survive reconnects. Its own module because who is connected, and
 * how a socket becomes a link, is one job apart from composing the node.
 */
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { NodeCredentials } from '../certs/store.js';
import type { Config, PeerConfig } from '../config/schema.js';
import { foldersSharedWith, isSharedWith, shareKey } from '../config/shares.js';
import type { Clock } from '../core/clock.js';
import { describeError, WizardError } from '../core/errors.js';
import type { IndexStore } from '../index/store.js';
import { PROTOCOL_VERSION, type Hello } from '../protocol/messages.js';
import type { Folder } from '../sync/folder.js';
import type { FolderPeers } from '../sync/folder-deps.js';
import { isLocalChange } from '../sync/mode-actions.js';
import type { CounterRefusals } from '../sync/peers/counter-refusals.js';
import { helloFolder, PeerLink } from '../sync/peers/exchange.js';
import type { ServeBudget } from '../sync/serve/serve-budget.js';
import { parseHostPort } from '../transport/address.js';
import { PeerSession, short, type SessionOptions } from '../transport/session.js';
import { dial } from '../transport/tls.js';
import type { TokenBucket } from '../transport/token-bucket.js';
import { isViolation, type ViolationBackoff } from '../transport/violation-backoff.js';
import type { PairingDesk } from '../trust/pairing-desk.js';
import type { PeerWaits } from '../trust/peer-waits.js';
import type { TrustService } from '../trust/trust-service.js';

/** Default port of the Wizard protocol. */
export const DEFAULT_PORT = 7842;

/** What the links need from the node. */
export interface PeerLinksDeps {
  /** This node's ID. */
  readonly id: string;
  readonly config: () => Config;
  readonly credentials: NodeCredentials;
  readonly store: IndexStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** Ping and idle timings of sessions; the defaults suit real networks, tests shrink them. */
  readonly session?: Pick<SessionOptions, 'pingIntervalMs' | 'idleTimeoutMs'>;
  /** The bandwidth limits every session shares. */
  readonly upload: TokenBucket;
  readonly download: TokenBucket;
  /** A running folder by ID. */
  readonly folder: (id: string) => Folder | undefined;
  /** Disk reads and hashing for peers' requests, shared fairly between links. */
  readonly serving: ServeBudget;
  /** Index entries refused for implausible version counters. */
  readonly refusals: CounterRefusals;
  /** Peers that broke the protocol: their sessions' ends put them under a penalty. */
  readonly violations: ViolationBackoff;
  readonly trust: TrustService;
  /** Answers a Hello that asks to pair. */
  readonly pairing: PairingDesk;
  /** Holds an unknown node's Hello a moment, for a `wizard pair` here to name it. */
  readonly peerWaits: PeerWaits;
  /** The port we listen on, for our Hello (0 while not listening). */
  readonly listenPort: () => number;
  /** Revoked here or by the CA's signed list: refused before any message. */
  readonly isRevoked: (id: string) => boolean;
  /** A link went down: its dial loop takes over again; `restart` when we closed it to start over with new shares. */
  readonly linkDown: (peerId: string, restart: boolean) => void;
}

/** Sent and received bytes of one peer over every link it had. */
export interface PeerBytes {
  readonly sent: number;
  readonly received: number;
}

/** The node's links, one per connected peer. */
export class PeerLinks {
  private readonly links = new Map<string, PeerLink>();
  /** Bytes of links that have ended, per peer. */
  private readonly pastBytes = new Map<string, { sent: number; received: number }>();
  /** Links closed by applyConfig to start over: the dial loop redials them at once. */
  private readonly restarting = new WeakSet<PeerLink>();
  private stopped = false;

  constructor(private readonly deps: PeerLinksDeps) {}

  /** The link to `peerId` with a session still open. */
  live(peerId: string): PeerLink | undefined {
    const link = this.links.get(peerId);
    return link === undefined || link.session.isClosed ? undefined : link;
  }

  /** Every link whose session is still open. */
  allLive(): PeerLink[] {
    return [...this.links.values()].filter((l) => !l.session.isClosed);
  }

  /** Whether a link to `peerId` is up. */
  isConnected(peerId: string): boolean {
    return this.live(peerId) !== undefined;
  }

  /** What every link to `peerId` sent and received, ended ones included. */
  bytes(peerId: string): PeerBytes {
    const past = this.pastBytes.get(peerId) ?? { sent: 0, received: 0 };
    const session = this.links.get(peerId)?.session;
    return { sent: past.sent + (session?.bytesSent ?? 0), received: past.received + (session?.bytesReceived ?? 0) };
  }

  /** What a folder asks of its peers: who shares it, their blocks and sums, news to announce. */
  folderPeers(folderId: string): FolderPeers {
    const linkTo = (peer: string): PeerLink => {
      const link = this.links.get(peer);
      if (link === undefined) throw new WizardError('UNREACHABLE', `peer ${short(peer)} is not connected`);
      return link;
    };
    return {
      connected: () => [...this.links.values()].filter((l) => l.shares(folderId) && !l.session.isClosed).map((l) => l.peerId),
      readBlock: async (peer, req) => linkTo(peer).session.request({ folder: folderId, ...req }),
      readSums: async (peer, req) => linkTo(peer).session.requestSums({ folder: folderId, ...req }),
      announce: () => {
        for (const link of this.links.values()) link.announce(folderId);
      },
    };
  }

  /** After a config change: links whose peer is gone or revoked close; a link whose shares changed starts over. */
  applyConfig(previous: Config, next: Config): void {
    // Starting over makes the Hellos carry the new shares, so a folder no longer shared loses its
    // index exchange and transfers with that peer at once.
    for (const link of [...this.links.values()]) {
      if (next.peers.every((p) => p.id !== link.peerId) || next.revoked.includes(link.peerId)) link.session.close('peer removed from config');
      else if (shareKey(previous, link.peerId) !== shareKey(next, link.peerId)) {
        this.restarting.add(link);
        link.session.close('shared folders changed');
      }
    }
  }

  /** Closes every link; none is made after this. */
  closeAll(): void {
    this.stopped = true;
    for (const link of this.links.values()) link.session.close('shutting down');
  }

  /** An inbound connection whose certificate names `peerId`: pairs, waits for a pairing here, or becomes a link. */
  async accept(socket: TLSSocket, peerId: string): Promise<void> {
    const log = this.deps.log.child({ peer: short(peerId) });
    if (peerId === this.deps.id) {
      log.warn('refused a connection from this node itself');
      socket.destroy();
      return;
    }
    if (this.deps.isRevoked(peerId)) {
      log.warn('refused a revoked node');
      socket.destroy();
      return;
    }
    const session = this.newSession(socket, peerId, 'in', log);
    // The dialer speaks first; our answer depends on what it asks (pair or sync), so it waits for that.
    const theirs = await session.receiveHello();
    if (theirs.intent === 'pair') {
      await this.deps.pairing.answer(session, theirs, socket.remoteAddress ?? '', log);
      return;
    }
    // An unknown node learns nothing about our folders. One that paired a moment ago may be ahead of the config.
    if (!(await this.deps.peerWaits.wait(() => this.peerConfig(peerId) !== undefined))) {
      session.close(`not paired: run 'wizard pair' on one of the two machines first`);
      return;
    }
    const ours = this.hello(peerId);
    await session.handshake(ours);
    this.register(session, ours, theirs);
  }

  /** Dials `peer` at its configured address; the certificate must name it. */
  async connect(peer: PeerConfig, signal: AbortSignal): Promise<void> {
    const { host, port } = parseHostPort(peer.address, DEFAULT_PORT);
    const log = this.deps.log.child({ peer: short(peer.id) });
    const { socket } = await dial({ host, port, credentials: this.deps.credentials, expectedId: peer.id, signal });
    if (this.deps.isRevoked(peer.id)) {
      socket.destroy();
      throw new WizardError('PEER_AUTH', `peer ${short(peer.id)} is revoked`);
    }
    const session = this.newSession(socket, peer.id, 'out', log);
    const ours = this.hello(peer.id);
    const theirs = await session.handshake(ours);
    this.register(session, ours, theirs);
  }

  /** A session with `peerId` over `socket`; one the peer ends by breaking the protocol puts it under a penalty. */
  private newSession(socket: TLSSocket, peerId: string, direction: 'in' | 'out', log: Logger): PeerSession {
    const options: SessionOptions = { compression: () => this.deps.config().compression, upload: this.deps.upload, download: this.deps.download, ...this.deps.session };
    const session = new PeerSession({ socket, clock: this.deps.clock, log }, peerId, direction, options);
    void session.closed.then((reason) => {
      if (isViolation(reason)) this.deps.violations.record(peerId, reason);
    });
    return session;
  }

  /** Makes a handshaken session the link to its peer (see the module's comment on ties). */
  private register(session: PeerSession, ours: Hello, theirs: Hello): void {
    if (this.stopped) {
      session.close('shutting down');
      return;
    }
    const existing = this.links.get(session.peerId);
    if (existing !== undefined && !existing.session.isClosed) {
      const dialer = (s: PeerSession) => (s.direction === 'out' ? this.deps.id : s.peerId);
      // Same dialer: the peer reconnected (after sleep, a network change) while we still hold its dead link; the new one wins.
      if (dialer(session) > dialer(existing.session)) {
        session.close('duplicate connection');
        return;
      }
      this.links.delete(session.peerId);
      existing.session.close('duplicate connection');
    }
    const { store, trust } = this.deps;
    const link = new PeerLink({
      session,
      store,
      folder: (id) => this.deps.folder(id),
      isShared: (folder) => isSharedWith(this.deps.config(), folder, session.peerId),
      log: this.deps.log.child({ peer: short(session.peerId) }),
      clock: this.deps.clock,
      serving: this.deps.serving.open(),
      onRefused: (folder, refused) => this.deps.refusals.note(session.peerId, short(session.peerId), folder, refused),
      onClose: (l, reason) => this.onLinkClosed(l, reason),
      onTrust: (msg) => trust.onMessage(session, msg),
      // A receive-only folder's local changes (versions no peer holds) stay here.
      // A hash not yet rehashed for identity v2 (scan/rehash.ts) would be read by the peer in the new meaning.
      withholds: (folder, entry) =>
        (this.deps.folder(folder)?.mode === 'receive-only' && isLocalChange(entry, store.remotesFor(folder, entry.path))) ||
        (entry.type === 'file' && !entry.deleted && store.staleHashes.has(folder, entry.path)),
    });
    this.links.set(session.peerId, link);
    this.deps.log.info({ peer: short(session.peerId), name: theirs.name, direction: session.direction }, 'connected');
    try {
      link.start(ours, theirs);
      trust.linkUp(session);
    } catch (err) {
      this.deps.log.warn({ peer: short(session.peerId), err: describeError(err) }, 'index exchange failed; closing');
      session.close(`index exchange failed: ${describeError(err)}`);
    }
  }

  private onLinkClosed(link: PeerLink, reason: string): void {
    const past = this.pastBytes.get(link.peerId) ?? { sent: 0, received: 0 };
    past.sent += link.session.bytesSent;
    past.received += link.session.bytesReceived;
    this.pastBytes.set(link.peerId, past);
    if (this.links.get(link.peerId) !== link) return;
    this.links.delete(link.peerId);
    this.deps.log.info({ peer: short(link.peerId), reason }, 'disconnected');
    this.deps.linkDown(link.peerId, this.restarting.has(link));
  }

  private hello(peer: string): Hello {
    const config = this.deps.config();
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      id: this.deps.id,
      name: config.name,
      listenPort: this.deps.listenPort(),
      intent: 'sync',
      // Only the folders shared with this peer: naming the others would tell it what it is not given.
      folders: foldersSharedWith(config, peer).filter((f) => this.deps.folder(f.id) !== undefined).map((f) => helloFolder(this.deps.store, f.id, peer)),
    };
  }

  private peerConfig(id: string): PeerConfig | undefined {
    return this.deps.config().peers.find((p) => p.id === id);
  }
}
