/**
 * LAN discovery as the node sees it: the sightings cache, the supervised
 * announce-and-listen service (on while config's `discovery.lan` is true),
 * the addresses to dial for a peer, the node a name given to `wizard pair`
 * means, and the state for status.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import type { PeerConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { describeError, WizardError } from '../core/errors.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { formatHostPort } from '../transport/address.js';
import { DISCOVERY_PORT } from './announcement.js';
import { dialCandidates, nodesNamed } from './candidates.js';
import { LanService, type LanServiceOptions } from './lan-service.js';
import { type Sighting, type SightingCounts, Sightings } from './sightings.js';

/** The supervisor's name for the discovery service. */
export const LAN_SERVICE = 'lan-discovery';

/** What discovery needs from the node. */
export interface LanDiscoveryDeps {
  readonly supervisor: Supervisor;
  readonly clock: Clock;
  readonly log: Logger;
  readonly selfId: string;
  readonly name: () => string;
  readonly listenPort: () => number;
  /** config.yaml's `discovery.lan`, read on each `apply`. */
  readonly enabled: () => boolean;
  /** A known or unknown node was seen first, or at a new address. */
  readonly onFound: (sighting: Sighting) => void;
  readonly interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  readonly udpPort?: number;
  readonly timings?: LanServiceOptions;
  /** The cache; a fresh one by default (tests fill their own). */
  readonly sightings?: Sightings;
}

/** Discovery in status. */
export interface DiscoveryStatus {
  /** running, off (by config), idle (no interface to announce on), or the supervisor's starting/backoff. */
  readonly state: 'running' | 'off' | 'idle' | 'starting' | 'backoff';
  /** Why it is not running, in words. */
  readonly reason?: string;
  readonly port: number;
  /** Broadcast addresses announcements go to. */
  readonly targets: string[];
  readonly announcements: number;
  /** Queries heard since the service started (machines joining by invite, looking for their inviter). */
  readonly queries: number;
  /** Nodes seen within the last 90 s. */
  readonly seen: number;
  readonly packets: SightingCounts;
}

/** The answer to the control socket's 'lan-lookup'. */
export interface LanLookup {
  /** config.yaml's discovery.lan. */
  readonly enabled: boolean;
  readonly nodes: { readonly id: string; readonly name: string; readonly address: string; readonly seenAtMs: number }[];
}

/** Where a peer was last seen on the LAN, in status. */
export interface PeerLanStatus {
  readonly address: string;
  readonly seenAtMs: number;
}

/** The node's LAN discovery. */
export class LanDiscovery {
  private readonly sightings: Sightings;
  private service: LanService | undefined;
  /** The address the last link to each peer was dialed at, tried first next time. */
  private readonly lastGood = new Map<string, string>();
  private readonly udpPort: number;

  constructor(private readonly deps: LanDiscoveryDeps) {
    this.sightings = deps.sightings ?? new Sightings(deps.selfId, () => deps.clock.now());
    this.udpPort = deps.udpPort ?? DISCOVERY_PORT;
  }

  /** Starts or stops the service to match the config; off forgets every sighting. */
  apply(): void {
    const on = this.deps.enabled();
    const running = this.deps.supervisor.has(LAN_SERVICE);
    if (on && !running) {
      void this.deps.supervisor.add({
        name: LAN_SERVICE,
        start: async (crash) => {
          const service = new LanService(
            {
              clock: this.deps.clock,
              log: this.deps.log.child({ part: 'lan' }),
              selfId: this.deps.selfId,
              name: this.deps.name,
              listenPort: this.deps.listenPort,
              interfaces: this.deps.interfaces ?? (() => os.networkInterfaces()),
              udpPort: this.udpPort,
              sightings: this.sightings,
              onFound: this.deps.onFound,
            },
            this.deps.timings,
          );
          this.service = service;
          await service.start(crash);
        },
        stop: () => {
          this.service?.stop();
          this.service = undefined;
        },
      });
    } else if (!on && running) {
      this.deps.log.info('LAN discovery turned off: no longer announcing or listening');
      void this.deps.supervisor.remove(LAN_SERVICE);
      this.sightings.clear();
    }
  }

  /** Stops the service. */
  async stop(): Promise<void> {
    await this.deps.supervisor.remove(LAN_SERVICE);
  }

  /** The addresses to dial `peer` at, best first (candidates.ts). */
  candidates(peer: PeerConfig): string[] {
    const last = this.lastGood.get(peer.id);
    return dialCandidates({ configured: peer.address, seen: this.sightings.addressesOf(peer.id), ...(last === undefined ? {} : { lastGood: last }) });
  }

  /**
   * Dials `peer` at each candidate address in turn until one links; rejects
   * with the first failure when none does. `dialAt` must check the peer's
   * pinned ID: that is the only proof an address is the peer's, so a forged
   * announcement costs one failed dial.
   */
  async dialEach(peer: PeerConfig, signal: AbortSignal, dialAt: (address: string) => Promise<void>): Promise<void> {
    const addresses = this.candidates(peer);
    if (addresses.length === 0) throw new WizardError('UNREACHABLE', `peer ${peer.id.slice(0, 8)} has no address in config.yaml and was not seen on the LAN`);
    let failure: unknown;
    for (const address of addresses) {
      try {
        await dialAt(address);
        this.lastGood.set(peer.id, address);
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        if (addresses.length > 1) this.deps.log.debug({ peer: peer.id.slice(0, 8), address, err: describeError(err) }, 'dial failed; trying the next address');
        failure ??= err;
      }
    }
    throw failure;
  }

  /** Where `peerId` was last seen, within the expiry. */
  seenAt(peerId: string): PeerLanStatus | undefined {
    const s = this.sightings.addressesOf(peerId)[0];
    return s === undefined ? undefined : { address: formatHostPort(s.host, s.port), seenAtMs: s.seenAtMs };
  }

  /** The nodes seen recently that `query` (a name or an ID prefix) means, and whether discovery is on (`wizard pair NAME`). */
  lookup(query: string): LanLookup {
    const nodes = nodesNamed(this.sightings.list(), query).map((s) => ({ id: s.id, name: s.name, address: formatHostPort(s.host, s.port), seenAtMs: s.seenAtMs }));
    return { enabled: this.deps.enabled(), nodes };
  }

  /** A peer's `lan` field in status, left out when it was not seen. */
  peerStatus(peerId: string): { lan?: PeerLanStatus } {
    const seen = this.seenAt(peerId);
    return seen === undefined ? {} : { lan: seen };
  }

  /** For status. */
  status(): DiscoveryStatus {
    const base = { port: this.udpPort, seen: this.sightings.list().length, packets: this.sightings.counts() };
    if (!this.deps.enabled()) return { ...base, state: 'off', reason: 'discovery.lan is false in config.yaml', targets: [], announcements: 0, queries: 0 };
    const row = this.deps.supervisor.status().find((r) => r.name === LAN_SERVICE);
    const svc = this.service?.state() ?? { targets: [], announcements: 0, queries: 0 };
    const common = { ...base, targets: svc.targets, announcements: svc.announcements, queries: svc.queries };
    if (row === undefined || row.state === 'stopped' || row.state === 'starting') return { ...common, state: 'starting' };
    if (row.state === 'backoff') return { ...common, state: 'backoff', reason: row.lastError ?? 'restarting' };
    if (svc.targets.length === 0) return { ...common, state: 'idle', reason: 'no network interface with an IPv4 broadcast address' };
    return { ...common, state: 'running' };
  }
}
