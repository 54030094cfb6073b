/**
 * The shape of `wizard status --json`: what the daemon reports about itself.
 * The daemon builds it (node.ts); the CLI renders it (cli/status*.ts).
 */
import type { Config, Limits } from '../config/schema.js';
import type { FolderStatus } from '../sync/folder-report.js';
import type { TransferStatus } from '../sync/pull/transfers.js';
import type { ServiceStatus } from '../supervisor/supervisor.js';
import type { CodecStatus } from '../transport/codec-chooser.js';
import type { ViolationStatus } from '../transport/violation-backoff.js';
import type { RefusedEntries } from '../sync/peers/counter-refusals.js';
import type { LogSinkStatus } from '../core/log-sink.js';
import type { ProcessStatus } from './process-status.js';
import type { FolderOffer } from './offers.js';
import type { PairingRequest } from '../trust/pairing-requests.js';
import type { DiscoveryStatus, PeerLanStatus } from '../discovery/lan-discovery.js';

/** A download in progress and its folder. */
export interface FolderTransfer extends TransferStatus {
  readonly folder: string;
}

/** One peer in status. */
export interface PeerStatus {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly connected: boolean;
  /** Frame bytes written to / read from this peer since the daemon started. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** While connected: ping round trip (ms, once measured), wire rates and the link's compression. */
  readonly latencyMs?: number;
  readonly sendBytesPerSecond?: number;
  readonly receiveBytesPerSecond?: number;
  readonly compression?: CodecStatus;
  /** Index entries of this peer refused for version counters far ahead of any clock, per folder (absent when none). */
  readonly refused?: RefusedEntries[];
  /** Present while the peer is left alone for breaking the protocol: not dialed until `untilMs`. */
  readonly backoff?: ViolationStatus;
  /** Where the peer last announced itself on the LAN, within the last 90 s (absent when not seen). */
  readonly lan?: PeerLanStatus;
}

/** The fields of a peer's status that say it misbehaved, left out when it did not. */
export function peerTrouble(refused: RefusedEntries[], backoff: ViolationStatus | undefined): Pick<PeerStatus, 'refused' | 'backoff'> {
  return { ...(refused.length === 0 ? {} : { refused }), ...(backoff === undefined ? {} : { backoff }) };
}

/** An invalid config edit that was not applied (the last good config stays in force). */
export interface ConfigProblem {
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly atMs: number;
}

/** The settings in force, for status: what a hot reload changed is visible here. */
export interface SettingsStatus {
  readonly limits: Limits;
  readonly compression: Config['compression'];
  readonly trashRetentionDays: number;
  readonly rescanIntervalS: number;
  readonly logLevel: string;
  readonly trust: Config['trust'];
  readonly revoked: number;
}

/** What `wizard status --json` prints. */
export interface StatusSnapshot {
  readonly id: string;
  readonly name: string;
  readonly listen: string;
  readonly peers: PeerStatus[];
  readonly folders: FolderStatus[];
  /** Folders connected peers share with this node that it does not have (`wizard folder accept ID PATH`). */
  readonly offers: FolderOffer[];
  /** Nodes whose pairing requests wait for 'wizard peer accept' (trust: allowlist). */
  readonly pairingRequests: PairingRequest[];
  readonly errors: string[];
  /** Downloads in progress, in every folder. */
  readonly transfers: FolderTransfer[];
  /**
   * The node's transfer slots (`limits.transfers`): slots in use, files downloading in them (small
   * files share slots, see transfer-slots.ts), downloads waiting for a slot, and the most slots ever in use at once.
   */
  readonly transferSlots: { readonly running: number; readonly files: number; readonly waiting: number; readonly peak: number };
  readonly settings: SettingsStatus;
  /** The supervised parts of the daemon: state, restarts, last crash. */
  readonly services: ServiceStatus[];
  /** LAN discovery: running, or off and why; what it heard and dropped. */
  readonly discovery: DiscoveryStatus;
  /** Present while the config file holds an edit that could not be applied. */
  readonly configProblem?: ConfigProblem;
  /** Present once the log left stdout (its reader went away), or lines were dropped. */
  readonly log?: LogSinkStatus;
  /** The daemon's memory and threads. */
  readonly process: ProcessStatus;
  /** Where the daemon's web server (metrics) answers, while it runs. */
  readonly gui?: { readonly url: string };
}

/** The settings of a config, as status shows them. */
export function settingsOf(c: Config): SettingsStatus {
  return {
    limits: c.limits,
    compression: c.compression,
    trashRetentionDays: c.trash.retentionDays,
    rescanIntervalS: c.rescanIntervalS,
    logLevel: c.log.level,
    trust: c.trust,
    revoked: c.revoked.length,
  };
}

