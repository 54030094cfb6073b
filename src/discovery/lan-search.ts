/**
 * Looking for nodes on the LAN from a machine that runs no node yet: `wizard
 * join` looking for its inviter when the code names no address, or its
 * address does not answer. One UDP socket on the discovery port (shared
 * with a daemon of another home on this machine: SO_REUSEADDR) that
 * broadcasts queries (announcement.ts) to every subnet this machine is on,
 * so running nodes announce at once, and hands on each node heard, newest
 * address first, through the same checked and bounded Sightings cache a
 * daemon uses. What it hands on are candidates only: an announcement
 * proves nothing, and the caller decides by the TLS handshake.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import type { Clock } from '../core/clock.js';
import { DISCOVERY_PORT, encodeQuery } from './announcement.js';
import { broadcastTargets } from './broadcast-targets.js';
import { type Sighting, Sightings } from './sightings.js';

/** What a search needs; the defaults are the machine's. */
export interface LanSearchDeps {
  readonly clock: Clock;
  readonly interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  readonly udpPort?: number;
}

/**
 * When queries go out, in ms from the start: a few early ones (a datagram
 * can be lost; a node's answer is rate limited to one a second), then one
 * every `QUERY_EVERY_MS` while the search lasts.
 */
const EARLY_QUERIES_MS = [0, 1_000, 3_000];
const QUERY_EVERY_MS = 10_000;
/** Nodes heard and not yet taken; more are dropped (a LAN with hundreds of announcers is a flood, not a home). */
const MAX_WAITING = 64;

/** A running search. */
export class LanSearch {
  private readonly sightings: Sightings;
  private readonly heard: Sighting[] = [];
  private waiter: (() => void) | undefined;
  private readonly cancels: (() => void)[] = [];
  private socket: dgram.Socket | undefined;
  private closed = false;
  private sentCount = 0;
  private unsentBecause: string | undefined;

  constructor(private readonly deps: LanSearchDeps) {
    // No ID of our own to skip: this machine has no node yet.
    this.sightings = new Sightings('', () => deps.clock.now());
  }

  /** Binds the socket and sends the first query; rejects when the port cannot be bound (one line). */
  async start(): Promise<void> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    socket.on('message', (packet, from) => this.onPacket(packet, from.address));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.deps.udpPort ?? DISCOVERY_PORT, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A send to a vanished interface fails that datagram alone; the search goes on with what it hears,
    // and why no query went out is kept for the caller's last line (unsent()).
    socket.on('error', (err) => (this.unsentBecause = describeSendError(err)));
    socket.setBroadcast(true);
    for (const at of EARLY_QUERIES_MS) this.cancels.push(this.deps.clock.setTimer(at, () => this.query()));
    const every = () => {
      this.query();
      this.cancels.push(this.deps.clock.setTimer(QUERY_EVERY_MS, every));
    };
    this.cancels.push(this.deps.clock.setTimer(QUERY_EVERY_MS, every));
  }

  /**
   * The next node heard for the first time or at a new address, or
   * undefined once `deadlineMs` (a clock time) passes or the search closes.
   */
  async next(deadlineMs: number): Promise<Sighting | undefined> {
    for (;;) {
      const ready = this.heard.shift();
      if (ready !== undefined) return ready;
      const left = deadlineMs - this.deps.clock.now();
      if (this.closed || left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const cancel = this.deps.clock.setTimer(left, () => {
          this.waiter = undefined;
          resolve();
        });
        this.waiter = () => {
          cancel();
          resolve();
        };
      });
    }
  }

  /** How many queries (datagrams, one per broadcast address) have gone out. */
  sent(): number {
    return this.sentCount;
  }

  /**
   * Why not one query has gone out yet (no IPv4 network to broadcast on, or
   * every send failed), or undefined once one has: a search that heard
   * nothing because it said nothing should say so, not blame the inviter.
   */
  unsent(): string | undefined {
    return this.sentCount > 0 ? undefined : this.unsentBecause;
  }

  /** Closes the socket and stops the queries; a pending next() answers undefined. */
  close(): void {
    this.closed = true;
    for (const cancel of this.cancels.splice(0)) cancel();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
    try {
      this.socket?.close();
    } catch {
      // Already closed by an error: nothing left to release.
    }
    this.socket = undefined;
  }

  private query(): void {
    const socket = this.socket;
    if (socket === undefined || this.closed) return;
    const targets = broadcastTargets((this.deps.interfaces ?? os.networkInterfaces)());
    if (targets.length === 0) this.unsentBecause = 'this machine is on no IPv4 network to broadcast to';
    for (const target of targets) {
      socket.send(encodeQuery(), this.deps.udpPort ?? DISCOVERY_PORT, target, (err) => {
        if (err === null || err === undefined) this.sentCount++;
        else this.unsentBecause = describeSendError(err);
      });
    }
  }

  private onPacket(packet: Buffer, from: string): void {
    const heard = this.sightings.hear(packet, from);
    // Queries (ours echoed back, or another joiner's) and anything malformed are dropped there; a refresh is no news.
    if ((heard.outcome !== 'new' && heard.outcome !== 'moved') || this.heard.length >= MAX_WAITING) return;
    this.heard.push(heard.sighting);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

function describeSendError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return `queries to the LAN could not be sent (${code ?? String(err)})`;
}
