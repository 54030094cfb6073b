/**
 * The inviting side of enrolment: `wizard invite` makes a code here (through
 * the daemon, which holds the listener the joiner dials), and a joining
 * machine's connection (ALPN `wizard-enroll/1`, no certificate) is served
 * here: the CA certificate goes out, a request comes in, and when it proves
 * an open invite's secret the CA key signs the key it brings and both nodes
 * record each other. docs/PROTOCOL.md section 7 has the exchange.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { caFingerprintOf, issueNodeCertForKey, nodeIdOf, type PemPair } from '../certs/ca.js';
import { readCa } from '../certs/store.js';
import type { Config, PeerConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { describeError, UsageError } from '../core/errors.js';
import { LIMITS, type IntroducedPeer } from '../protocol/messages.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { short } from '../transport/session.js';
import { EnrolChannel } from './enrol-wire.js';
import { proofHolds } from './enrol-proof.js';
import { formatInviteCode, PIN_BYTES } from './invite-code.js';
import { InviteBook, invitesPath } from './invites.js';

/** What the inviting node gives enrolment. */
export interface EnrolmentDeps {
  readonly home: string;
  /** Where the CA's certificate and key are (the home's certs dir). */
  readonly certsDir: string;
  readonly caPem: string;
  readonly nodeId: string;
  readonly config: () => Config;
  /** The port the listener is bound to (the one a joiner dials). */
  readonly listenPort: () => number;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Records a node that joined: adds it as a peer, shares `folders` with it,
   * and returns the peers it is introduced to (item 4), each with the folders
   * the two share.
   */
  readonly recordJoined: (peer: PeerConfig, folders: readonly string[]) => IntroducedPeer[];
}

/** What `wizard invite` asks for. */
export interface InviteRequest {
  readonly folders: readonly string[];
  /** host[:port] the joiner should dial; by default this machine's first LAN address and the listening port. */
  readonly address?: string;
  /** The code names no address: the joiner finds this node on the LAN (a laptop whose address changes). */
  readonly lan?: boolean;
  readonly ttlMs: number;
}

/** Default lifetime of an invite. */
export const DEFAULT_INVITE_TTL_MS = 24 * 60 * 60 * 1000;
/** How long the joiner may take to send its request once it has the offer. */
const REQUEST_TIMEOUT_MS = 15_000;

/** Invites and enrolments of one node. */
export class Enrolment {
  private readonly book: InviteBook;

  constructor(private readonly deps: EnrolmentDeps) {
    this.book = new InviteBook(invitesPath(deps.home), () => deps.clock.now());
  }

  /** Makes an invite; throws a UsageError when this node cannot sign or a folder is not here. */
  invite(req: InviteRequest): { code: string; expiresAtMs: number } {
    this.signingCa();
    if (new Set(req.folders).size > LIMITS.maxInviteFolders) throw new UsageError(`an invite shares at most ${LIMITS.maxInviteFolders} folders`);
    const have = new Set(this.deps.config().folders.map((f) => f.id));
    const missing = req.folders.filter((f) => !have.has(f));
    if (missing.length > 0) throw new UsageError(`no folder ${missing.map((f) => `'${f}'`).join(', ')} on this node; 'wizard status' lists the folders`);
    if (req.lan === true && req.address !== undefined) throw new UsageError('--lan makes a code with no address, so it takes no --address; give one or the other');
    const address = req.lan === true ? '' : this.addressFor(req.address);
    const { invite, secret } = this.book.create([...new Set(req.folders)], req.ttlMs);
    const code = formatInviteCode({ secret, caPin: caFingerprintOf(this.deps.caPem).subarray(0, PIN_BYTES), address });
    this.deps.log.info({ invite: invite.id.slice(0, 8), folders: invite.folders, expiresAtMs: invite.expiresAtMs }, 'invite made');
    return { code, expiresAtMs: invite.expiresAtMs };
  }

  /** Serves one enrolment connection to its end; never throws. */
  async serve(socket: TLSSocket): Promise<void> {
    const from = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '';
    const log = this.deps.log.child({ enrol: from });
    const channel = new EnrolChannel(socket);
    try {
      channel.send({ type: 'enrol-offer', ca: this.deps.caPem });
      const msg = await channel.receive(REQUEST_TIMEOUT_MS);
      if (msg.type !== 'enrol-request') {
        channel.end();
        return;
      }
      let ca: PemPair;
      try {
        ca = this.signingCa();
      } catch (err) {
        channel.end(describeError(err));
        return;
      }
      let certPem: string;
      try {
        certPem = issueNodeCertForKey(ca, msg.name, msg.key, new Date(this.deps.clock.now()));
      } catch (err) {
        log.warn({ err: describeError(err) }, 'refused an enrolment: its key');
        channel.end(`refused: ${describeError(err)}`);
        return;
      }
      const joined = nodeIdOf(certPem);
      const exporter = channel.exporter();
      const verdict = this.book.redeem(msg.invite, (secret) => proofHolds(secret, exporter, msg, msg.proof), joined);
      if (!verdict.ok) {
        log.warn({ invite: msg.invite.slice(0, 8), why: verdict.why }, 'refused an enrolment');
        channel.end(`invite refused (${verdict.why})`);
        return;
      }
      const address = from !== '' && msg.listenPort > 0 ? formatHostPort(from, msg.listenPort) : '';
      const folders = verdict.invite.folders.filter((f) => this.deps.config().folders.some((c) => c.id === f));
      const peers = this.deps.recordJoined({ id: joined, name: msg.name, address }, folders);
      channel.send({ type: 'enrol-grant', cert: certPem, id: this.deps.nodeId, name: this.deps.config().name, folders, peers });
      log.info({ peer: short(joined), name: msg.name, folders, introduced: peers.length }, 'a node joined by invite');
      channel.end();
    } catch (err) {
      log.info({ err: describeError(err) }, 'enrolment connection ended early');
      socket.destroy();
    }
  }

  /** The CA this node signs with; a UsageError when it holds only the certificate. */
  private signingCa(): PemPair {
    if (!existsSync(path.join(this.deps.certsDir, 'ca.key'))) {
      throw new UsageError("this node does not hold the CA key, so it cannot enrol machines: run 'wizard invite' on the node that does");
    }
    return readCa(this.deps.certsDir);
  }

  private addressFor(given: string | undefined): string {
    const port = this.deps.listenPort();
    if (given !== undefined && given.trim() !== '') {
      const text = given.trim();
      if (/\s/.test(text) || text.includes('@')) throw new UsageError(`--address takes HOST[:PORT], got '${text}'`);
      // A bare host takes the listening port.
      const parsed = parseHostPort(text, port);
      return formatHostPort(parsed.host, parsed.port);
    }
    const { host } = parseHostPort(this.deps.config().listen, port, { allowZero: true });
    if (host !== '' && host !== '0.0.0.0' && host !== '::') return formatHostPort(host, port);
    return formatHostPort(lanAddress() ?? '127.0.0.1', port);
  }
}

/** This machine's first non-loopback IPv4 address: where another machine on the LAN reaches it. */
function lanAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
