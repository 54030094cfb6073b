/**
 * The status snapshot of a running node, assembled from its parts: each part
 * reports its own piece (a folder its state, a link its rates, discovery
 * where a peer was seen), and this puts them in the shape `wizard status`,
 * the web page and the metrics read (status/snapshot.ts).
 */
import type { Config } from '../config/schema.js';
import type { LanDiscovery } from '../discovery/lan-discovery.js';
import { folderOffers } from '../status/offers.js';
import { processStatus } from '../status/process-status.js';
import { type ConfigProblem, peerTrouble, settingsOf, type StatusSnapshot } from '../status/snapshot.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { CounterRefusals } from '../sync/peers/counter-refusals.js';
import type { TransferSlots } from '../sync/pull/transfer-slots.js';
import type { ViolationBackoff } from '../transport/violation-backoff.js';
import type { PairingDesk } from '../trust/pairing-desk.js';
import type { FolderSet } from './folder-set.js';
import type { PeerLinks } from './peer-links.js';

/** The parts a snapshot is read from. */
export interface NodeParts {
  readonly id: string;
  readonly config: Config;
  /** Where we listen, 'host:port'; '' while not listening. */
  readonly listen: string;
  readonly folders: FolderSet;
  readonly links: PeerLinks;
  readonly refusals: CounterRefusals;
  readonly violations: ViolationBackoff;
  readonly lan: LanDiscovery;
  readonly pairing: PairingDesk;
  readonly slots: TransferSlots;
  readonly supervisor: Supervisor;
  /** The node's own recent errors (the folders keep theirs). */
  readonly recentErrors: readonly string[];
  readonly configProblem: ConfigProblem | undefined;
  /** Hasher threads running now. */
  readonly workerThreads: number;
}

/** The status snapshot of the node `parts` make up. */
export function nodeStatus(parts: NodeParts): StatusSnapshot {
  const { config, links, slots } = parts;
  const peers = config.peers.map((p) => {
    const live = links.live(p.id)?.session;
    const bytes = links.bytes(p.id);
    return {
      id: p.id,
      name: p.name,
      address: p.address,
      connected: live !== undefined,
      bytesSent: bytes.sent,
      bytesReceived: bytes.received,
      ...(live === undefined ? {} : live.stats()),
      ...peerTrouble(parts.refusals.of(p.id), parts.violations.status(p.id)),
      ...parts.lan.peerStatus(p.id),
    };
  });
  const folders = parts.folders.all();
  return {
    id: parts.id,
    name: config.name,
    listen: parts.listen,
    peers,
    folders: parts.folders.statuses(),
    offers: folderOffers(config, links.allLive().map((l) => ({ peer: l.peerId, folders: l.session.peerHello?.folders.map((f) => f.id) ?? [] }))),
    pairingRequests: parts.pairing.requests.list(),
    errors: [...parts.recentErrors, ...folders.flatMap((f) => f.errors())],
    transfers: folders.flatMap((f) => f.transfers.list().map((t) => ({ folder: f.id, ...t }))),
    transferSlots: { running: slots.active, files: slots.activeFiles, waiting: slots.queued, peak: slots.mostActive },
    settings: settingsOf(config),
    services: parts.supervisor.status(),
    discovery: parts.lan.status(),
    ...(parts.configProblem === undefined ? {} : { configProblem: parts.configProblem }),
    process: processStatus(parts.workerThreads),
  };
}
