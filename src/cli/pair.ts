/**
 * `wizard pair HOST[:PORT] [--share ID]...`: introduces this node to a running
 * peer over mutual TLS and records it, on both sides, with the folders both
 * nodes have shared between them (or only those `--share` names).
 */
import os from 'node:os';
import { loadNodeCredentials } from '../certs/store.js';
import { editConfig, readConfig } from '../config/file.js';
import { pairPeer } from '../config/edit.js';
import { systemClock } from '../core/clock.js';
import { hasCode, UsageError, WizardError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { DEFAULT_PORT } from '../node.js';
import { reloadDaemon } from './io.js';
import { formatHostPort, parseHostPort } from '../transport/address.js';
import { dial } from '../transport/tls.js';
import { PeerSession } from '../transport/session.js';
import { AWAITING_APPROVAL, pairHello } from '../trust/pair-hello.js';
import { printable } from './format.js';
import { certsDir } from './home.js';
import { resolvePairTarget } from './lan-target.js';

/** Who we paired with, and what the two now share. */
export interface PairResult {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  /** The folder IDs now shared with the peer, on both sides. */
  readonly shared: string[];
  /** The local daemon was running and picked the peer up. */
  readonly daemonNotified: boolean;
  /** The peer keeps pairing requests for a person to accept (trust: allowlist): it syncs once 'wizard peer accept' runs there. */
  readonly awaitingApproval?: boolean;
  /** This node's ID, which 'wizard peer accept' there takes (set with awaitingApproval). */
  readonly thisNode?: string;
}

/**
 * Pairs the node at `home` with the node listening at `target`. `share`, when
 * given, limits the folders offered to those IDs (each must be a folder here);
 * by default every folder here is offered, and the peer shares those it has.
 */
export async function pair(home: string, target: string, share: readonly string[] = []): Promise<PairResult> {
  const homeDir = os.homedir();
  const { config } = readConfig(home, { homeDir });
  for (const id of share) {
    if (!config.folders.some((f) => f.id === id)) throw new UsageError(`no folder '${id}' here to share; 'wizard status' lists the folders`);
  }
  const offered = share.length > 0 ? [...new Set(share)] : config.folders.map((f) => f.id);
  const credentials = loadNodeCredentials(certsDir(home));
  // A bare name may be a node seen on the LAN: then its announced ID is pinned as well as its address taken.
  const resolved = await resolvePairTarget(home, target);
  const { host, port } = parseHostPort(resolved.address, DEFAULT_PORT);
  const address = formatHostPort(host, port);
  const { socket, peerId } = await dial({ host, port, credentials, ...(resolved.expectedId === undefined ? {} : { expectedId: resolved.expectedId }) });
  if (peerId === credentials.nodeId) {
    socket.destroy();
    throw new UsageError(`that is this node: ${address} answers with this node's own ID (${credentials.nodeId.slice(0, 8)}); pair with another machine`);
  }
  // Pairing is a short exchange; its log lines would only clutter the command's output.
  const session = new PeerSession({ socket, clock: systemClock, log: createLogger('silent') }, peerId, 'out');
  const listenPort = parseHostPort(config.listen, DEFAULT_PORT, { allowZero: true }).port;
  const theirs = await session.handshake(pairHello(credentials.nodeId, config.name, listenPort, offered)).catch((err: unknown) => {
    const said = hasCode(err, 'CLOSED') ? /peer closed: (.*)$/.exec((err as Error).message)?.[1] : undefined;
    if (said?.startsWith(AWAITING_APPROVAL) === true) return undefined;
    if (said !== undefined) throw new WizardError('PEER_AUTH', `${address} refused the pairing: ${printable(said)}`);
    if (hasCode(err, 'CLOSED')) {
      throw new WizardError('PEER_AUTH', `${address} closed the connection during pairing: it may not trust our CA (both nodes must be initialised with the same CA, see wizard init --ca)`);
    }
    throw err;
  });
  session.close('paired');
  // trust: allowlist there: we record it, sharing what we offered; it shares those it has once a person accepts us there.
  const waiting = theirs === undefined;
  const name = theirs?.name ?? '';
  // What the peer answered it shares, of what we offered: never more.
  const shared = theirs === undefined ? offered : offered.filter((id) => theirs.folders.some((f) => f.id === id));
  editConfig(home, (text) => pairPeer(text, { id: peerId, name, address }, shared), { homeDir });
  const daemonNotified = await reloadDaemon(home);
  return { id: peerId, name, address, shared, daemonNotified, ...(waiting ? { awaitingApproval: true, thisNode: credentials.nodeId } : {}) };
}
