/**
 * Who was seen where on the LAN: the announcements heard, checked, rate
 * limited per sender and kept for a while. Pure apart from the injected
 * clock; the socket that feeds it lives in lan-service.ts.
 *
 * Everything is bounded, because anyone on the LAN can send anything: at most
 * `maxNodes` IDs with `maxAddressesPerNode` addresses each, at most
 * `maxSenders` rate-limit slots, entries forgotten after `expiryMs`. A forged
 * announcement (another node's ID from the attacker's address) adds one
 * candidate address and displaces nothing: the real node's address stays
 * beside it, and the TLS handshake's pinned ID tells them apart.
 */
import { type DropReason, decodeAnnouncement } from './announcement.js';

/** One node seen at one address. */
export interface Sighting {
  readonly id: string;
  readonly name: string;
  /** The packet's source address (IPv4, or IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly seenAtMs: number;
}

/** Why a packet was not taken: the codec's reasons, a sender over its rate, or our own announcement echoed back. */
export type RefusalReason = DropReason | 'rate' | 'self';

/** What hearing one packet did. */
export type Heard =
  | { readonly outcome: 'new' | 'moved' | 'refreshed'; readonly sighting: Sighting }
  | { readonly outcome: 'dropped'; readonly reason: RefusalReason };

/** Counters for status. */
export interface SightingCounts {
  readonly heard: number;
  readonly accepted: number;
  readonly dropped: Partial<Record<RefusalReason, number>>;
}

/** Bounds and rates; the defaults suit a home or office LAN. */
export interface SightingsOptions {
  /** A node not heard from for this long is forgotten (three missed 30 s announcements). */
  readonly expiryMs?: number;
  readonly maxNodes?: number;
  readonly maxAddressesPerNode?: number;
  readonly maxSenders?: number;
  /** Packets a sender may send at once... */
  readonly senderBurst?: number;
  /** ...and then one per this many ms. A node sends one per 30 s, a few more when others start. */
  readonly senderRefillMs?: number;
}

/** How long a sighting counts (Syncthing's cache lifetime too). */
export const SIGHTING_EXPIRY_MS = 90_000;

const DEFAULTS: Required<SightingsOptions> = {
  expiryMs: SIGHTING_EXPIRY_MS,
  maxNodes: 256,
  maxAddressesPerNode: 4,
  maxSenders: 1024,
  senderBurst: 4,
  senderRefillMs: 5_000,
};

/** The cache of LAN sightings. */
export class Sightings {
  private readonly opts: Required<SightingsOptions>;
  /** By node ID, newest address first; Map order is least recently updated first, for eviction. */
  private readonly nodes = new Map<string, Sighting[]>();
  /** Token buckets by sender address, least recently used first. */
  private readonly senders = new Map<string, { tokens: number; atMs: number }>();
  private heardCount = 0;
  private acceptedCount = 0;
  private readonly drops: Partial<Record<RefusalReason, number>> = {};

  constructor(
    private readonly selfId: string,
    private readonly now: () => number,
    opts: SightingsOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Takes one datagram from `fromHost`; never throws. */
  hear(packet: Uint8Array, fromHost: string): Heard {
    this.heardCount++;
    const host = fromHost.replace(/^::ffff:/, '');
    // Rate first: a flood costs a map lookup per packet, not a decode.
    if (!this.takeToken(host)) return this.drop('rate');
    const decoded = decodeAnnouncement(packet);
    if (typeof decoded === 'string') return this.drop(decoded);
    if (decoded.id === this.selfId) return this.drop('self');
    const nowMs = this.now();
    const sighting: Sighting = { id: decoded.id, name: decoded.name, host, port: decoded.port, seenAtMs: nowMs };
    const before = this.fresh(decoded.id);
    const others = before.filter((s) => !(s.host === host && s.port === decoded.port));
    this.nodes.delete(decoded.id);
    this.nodes.set(decoded.id, [sighting, ...others].slice(0, this.opts.maxAddressesPerNode));
    this.evictNodes();
    this.acceptedCount++;
    const newest = before[0];
    const outcome = newest === undefined ? 'new' : newest.host === host && newest.port === decoded.port ? 'refreshed' : 'moved';
    return { outcome, sighting };
  }

  /** Where `id` was seen within the expiry, newest first. */
  addressesOf(id: string): Sighting[] {
    return this.fresh(id);
  }

  /** Every node seen within the expiry, at its newest address. */
  list(): Sighting[] {
    const out: Sighting[] = [];
    for (const id of [...this.nodes.keys()]) {
      const newest = this.fresh(id)[0];
      if (newest !== undefined) out.push(newest);
    }
    return out;
  }

  /** Counters since start. */
  counts(): SightingCounts {
    return { heard: this.heardCount, accepted: this.acceptedCount, dropped: { ...this.drops } };
  }

  /** Forgets every sighting (discovery turned off); the counters stay. */
  clear(): void {
    this.nodes.clear();
    this.senders.clear();
  }

  private fresh(id: string): Sighting[] {
    const all = this.nodes.get(id);
    if (all === undefined) return [];
    const cutoff = this.now() - this.opts.expiryMs;
    const live = all.filter((s) => s.seenAtMs > cutoff);
    if (live.length === 0) this.nodes.delete(id);
    else if (live.length !== all.length) this.nodes.set(id, live);
    return live;
  }

  private evictNodes(): void {
    while (this.nodes.size > this.opts.maxNodes) {
      const oldest = this.nodes.keys().next().value;
      if (oldest === undefined) return;
      this.nodes.delete(oldest);
    }
  }

  private takeToken(host: string): boolean {
    const nowMs = this.now();
    const { senderBurst, senderRefillMs, maxSenders } = this.opts;
    const bucket = this.senders.get(host) ?? { tokens: senderBurst, atMs: nowMs };
    const refilled = Math.min(senderBurst, bucket.tokens + Math.max(0, nowMs - bucket.atMs) / senderRefillMs);
    this.senders.delete(host);
    const ok = refilled >= 1;
    this.senders.set(host, { tokens: ok ? refilled - 1 : refilled, atMs: nowMs });
    while (this.senders.size > maxSenders) {
      const oldest = this.senders.keys().next().value;
      if (oldest === undefined) break;
      this.senders.delete(oldest);
    }
    return ok;
  }

  private drop(reason: RefusalReason): Heard {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return { outcome: 'dropped', reason };
  }
}
