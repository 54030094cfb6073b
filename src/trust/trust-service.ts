/**
 * The node's part in enrolment, introductions and revocation, between the
 * pure parts (invite-code, introductions, revocation-list) and the node's
 * links: it serves enrolment connections, introduces a node that joined to
 * the peers that share its folders, and keeps, checks, applies and passes on
 * the CA-signed revocation list. The node calls it; it reaches the node only
 * through the functions it is given.
 */
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { revokePeer } from '../config/edit.js';
import type { PeerConfig } from '../config/schema.js';
import { describeError } from '../core/errors.js';
import type { IntroduceMessage, IntroducedPeer, RevocationsMessage } from '../protocol/messages.js';
import { short, type PeerSession } from '../transport/session.js';
import { Enrolment, type EnrolmentDeps, type InviteRequest } from './enrol-server.js';
import { acceptedFolders, introductionsFor, recordPeerText } from './introductions.js';
import { PendingIntroductions } from './pending-introductions.js';
import { Revocations } from './revocations.js';

/** What the node gives its trust service. */
export interface TrustServiceDeps extends Omit<EnrolmentDeps, 'recordJoined'> {
  /** Edits config.yaml (comment-preserving) and applies the result; throws when the edit is refused. */
  readonly editConfig: (edit: (text: string) => string) => void;
  /** The live session with a peer, if any. */
  readonly session: (peerId: string) => PeerSession | undefined;
  /** Every live session. */
  readonly sessions: () => Iterable<PeerSession>;
}

/** Enrolment, introductions and the revocation list of one node. */
export class TrustService {
  private readonly enrolment: Enrolment;
  private readonly revocations: Revocations;
  /** Introductions for peers that were not connected when a node joined: sent when they next are. */
  private readonly pendingIntroductions: PendingIntroductions;

  constructor(private readonly deps: TrustServiceDeps) {
    const log = deps.log.child({ part: 'trust' });
    this.pendingIntroductions = new PendingIntroductions(PendingIntroductions.pathIn(deps.home), log);
    this.revocations = new Revocations({ home: deps.home, certsDir: deps.certsDir, caPem: deps.caPem, now: () => deps.clock.now(), log });
    this.enrolment = new Enrolment({
      home: deps.home,
      certsDir: deps.certsDir,
      caPem: deps.caPem,
      nodeId: deps.nodeId,
      config: deps.config,
      listenPort: deps.listenPort,
      clock: deps.clock,
      log,
      recordJoined: (peer, folders) => this.recordJoined(peer, folders),
    });
  }

  /** Whether the CA-signed list revokes `id`. */
  isRevoked(id: string): boolean {
    return this.revocations.has(id);
  }

  /** `wizard invite`. */
  invite(req: InviteRequest): { code: string; expiresAtMs: number } {
    return this.enrolment.invite(req);
  }

  /** Serves a joining machine's connection. */
  serveEnrolment(socket: TLSSocket): void {
    void this.enrolment.serve(socket);
  }

  /**
   * `wizard peer remove ID --revoke` on a running node: with the CA key, a new
   * signed list that goes to every peer; without, a local revocation only (the
   * config edit the command made). Says which.
   */
  revoke(id: string): { spreads: boolean; version?: number } {
    if (!this.revocations.canSign()) return { spreads: false };
    const signed = this.revocations.revoke([id]);
    this.deps.log.info({ peer: short(id), version: signed.list.version }, 'signed a revocation list');
    this.applyList();
    return { spreads: true, version: signed.list.version };
  }

  /** A link came up: it gets our list, and any introductions that waited for it. */
  linkUp(session: PeerSession): void {
    const held = this.revocations.current;
    if (held !== undefined) trySend(session, { type: 'revocations', list: held.bytes, signature: held.signature });
    for (const peer of this.pendingIntroductions.take(session.peerId)) {
      // Not sent after all (the link ended at once): kept for the next.
      if (!trySend(session, { type: 'introduce', peer })) this.pendingIntroductions.add(session.peerId, peer);
    }
  }

  /** A revocation list or introduction from a connected peer. */
  onMessage(from: PeerSession, msg: RevocationsMessage | IntroduceMessage): void {
    const log = this.deps.log.child({ peer: short(from.peerId) });
    if (msg.type === 'introduce') {
      this.takeIntroduction(from.peerId, msg.peer, log);
      return;
    }
    const verdict = this.revocations.offer(msg.list, msg.signature);
    if (typeof verdict === 'object') {
      // Forged, damaged or of another network: refused, and the peer's session goes (no honest node sends one).
      log.warn({ why: verdict.refused }, 'refused a revocation list');
      from.close(`protocol error: revocation list refused: ${verdict.refused}`);
      return;
    }
    if (verdict === 'newer') {
      log.info({ version: this.revocations.current?.list.version }, 'took a newer revocation list');
      this.applyList();
    } else if (verdict === 'older') {
      // The peer is behind: it gets ours.
      const held = this.revocations.current;
      if (held !== undefined) trySend(from, { type: 'revocations', list: held.bytes, signature: held.signature });
    } else if (verdict === 'conflict') {
      log.error({ version: this.revocations.current?.list.version }, 'a peer holds another revocation list with the same version: two lists were signed as one version; keeping ours');
    }
  }

  /** Refuses what the held list revokes: records it in config (which closes their links and stops dialing them), closes any other link of theirs, and passes the list on. */
  private applyList(): void {
    const held = this.revocations.current;
    if (held === undefined) return;
    const config = this.deps.config();
    const ids = held.list.revoked.filter((id) => id !== this.deps.nodeId);
    const toRecord = ids.filter((id) => !config.revoked.includes(id));
    if (toRecord.length > 0) {
      try {
        this.deps.editConfig((text) => toRecord.reduce((t, id) => revokePeer(t, id), text));
      } catch (err) {
        this.deps.log.error({ err: describeError(err) }, 'could not record the revocation list in config.yaml; the list is still enforced');
      }
    }
    for (const id of ids) this.deps.session(id)?.close('revoked by the CA');
    for (const session of this.deps.sessions()) trySend(session, { type: 'revocations', list: held.bytes, signature: held.signature });
  }

  /** Records a node that joined and introduces it to the peers that share its folders (and them to it). */
  private recordJoined(peer: PeerConfig, folders: readonly string[]): IntroducedPeer[] {
    this.deps.editConfig((text) => recordPeerText(text, peer, folders));
    const introductions = introductionsFor(this.deps.config(), peer.id, folders);
    for (const other of introductions) {
      const msg: IntroduceMessage = { type: 'introduce', peer: { ...peer, folders: other.folders } };
      const session = this.deps.session(other.id);
      if (session !== undefined && trySend(session, msg)) continue;
      this.pendingIntroductions.add(other.id, msg.peer);
    }
    return introductions;
  }

  private takeIntroduction(introducer: string, peer: IntroducedPeer, log: Logger): void {
    const config = this.deps.config();
    const folders = acceptedFolders(config, this.deps.nodeId, introducer, peer);
    if (folders.length === 0 || this.isRevoked(peer.id)) {
      log.info({ introduced: short(peer.id) }, 'ignored an introduction: it names no folder we share with the introducer, or a revoked node');
      return;
    }
    try {
      this.deps.editConfig((text) => recordPeerText(text, { id: peer.id, name: peer.name, address: peer.address }, folders));
      log.info({ introduced: short(peer.id), name: peer.name, folders }, 'introduced to a node that joined by invite');
    } catch (err) {
      log.warn({ introduced: short(peer.id), err: describeError(err) }, 'could not record an introduced node');
    }
  }
}

/** Sends unless the session has ended; true when sent. */
function trySend(session: PeerSession, msg: RevocationsMessage | IntroduceMessage): boolean {
  if (session.isClosed) return false;
  try {
    session.send(msg);
    return true;
  } catch {
    return false;
  }
}
