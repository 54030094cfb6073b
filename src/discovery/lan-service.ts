/**
 * The I/O edge of LAN discovery: one UDP socket that broadcasts this node's
 * announcement to every IPv4 subnet it is on and hears the others'. It
 * announces at start and 2 s later, every `intervalMs`, when the machine's
 * addresses change, soon after hearing a node for the first time (so two nodes
 * that start together find each other in a moment, not in 30 s), and soon
 * after a query (a machine joining by invite looks for its inviter). Every
 * packet heard goes to the Sightings cache, which checks and bounds it; a
 * hostile packet is dropped and counted there and never reaches past here.
 */
import dgram from 'node:dgram';
import type { NetworkInterfaceInfo } from 'node:os';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { encodeAnnouncement, isQuery } from './announcement.js';
import { broadcastTargets, ipv4Addresses } from './broadcast-targets.js';
import type { Sighting, Sightings } from './sightings.js';

/** What the service needs. */
export interface LanServiceDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly selfId: string;
  /** This node's name as it is now (hot-reloaded config). */
  readonly name: () => string;
  /** The TCP port peers reach this node on; 0 while the listener is not bound (nothing is announced then). */
  readonly listenPort: () => number;
  /** The machine's interfaces; os.networkInterfaces in the daemon. */
  readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** UDP port to send to and listen on. */
  readonly udpPort: number;
  readonly sightings: Sightings;
  /** A node was seen for the first time, or at a new address. */
  readonly onFound: (sighting: Sighting) => void;
}

/** Timings; the defaults are Syncthing's announce interval and a cheap address poll. */
export interface LanServiceOptions {
  readonly intervalMs?: number;
  /** How often the interface list is read to notice an address change. */
  readonly pollMs?: number;
  /** Shortest gap between two announcements made early (a new node heard, an address change). */
  readonly minGapMs?: number;
  /** When the second announcement after start goes out. */
  readonly secondMs?: number;
}

/** The service's state, for status. */
export interface LanServiceState {
  /** Broadcast addresses announcements go to; empty when no interface has one. */
  readonly targets: string[];
  readonly announcements: number;
  /** Queries heard: machines that asked nodes to announce now. */
  readonly queries: number;
  readonly lastAnnouncedAtMs?: number;
}

/** One running discovery socket. */
export class LanService {
  private socket: dgram.Socket | undefined;
  private targets: string[] = [];
  private announcements = 0;
  /** Queries heard (wizard join looking for its inviter). */
  private queries = 0;
  private lastAnnouncedAtMs: number | undefined;
  /** This machine's own IPv4 addresses, joined: a change of address within the same subnet keeps the targets. */
  private addressKey = '';
  /** Cancels of the running timers, by job. */
  private readonly cancels = new Map<string, () => void>();
  private soonPending = false;
  private stopped = false;

  constructor(
    private readonly deps: LanServiceDeps,
    private readonly opts: LanServiceOptions = {},
  ) {}

  /** Binds the socket and starts announcing; a socket error later is reported through `crash`. */
  async start(crash: (err: unknown) => void): Promise<void> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    socket.on('message', (packet, from) => this.onPacket(packet, from.address));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.deps.udpPort, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setBroadcast(true);
    socket.on('error', crash);
    this.readInterfaces();
    this.announce();
    // Two nodes that start together may each announce before the other listens: once more, shortly.
    this.cancels.set('second', this.deps.clock.setTimer(this.opts.secondMs ?? 2_000, () => this.announce()));
    this.every('announce', this.opts.intervalMs ?? 30_000, () => this.announce());
    this.every('poll', this.opts.pollMs ?? 5_000, () => this.pollInterfaces());
  }

  /** Closes the socket and the timers. */
  stop(): void {
    this.stopped = true;
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) {
      try {
        socket.close();
      } catch {
        // Already closed by an error: nothing left to release.
      }
    }
  }

  /** For status. */
  state(): LanServiceState {
    return { targets: [...this.targets], announcements: this.announcements, queries: this.queries, ...(this.lastAnnouncedAtMs === undefined ? {} : { lastAnnouncedAtMs: this.lastAnnouncedAtMs }) };
  }

  /** Announces within `minGapMs`, once however often it is asked meanwhile. */
  announceSoon(): void {
    if (this.soonPending || this.stopped) return;
    this.soonPending = true;
    const since = this.lastAnnouncedAtMs === undefined ? Infinity : this.deps.clock.now() - this.lastAnnouncedAtMs;
    const wait = Math.max(0, (this.opts.minGapMs ?? 1_000) - since);
    this.cancels.set(
      'soon',
      this.deps.clock.setTimer(wait, () => {
        this.soonPending = false;
        this.announce();
      }),
    );
  }

  private onPacket(packet: Buffer, from: string): void {
    if (isQuery(packet)) {
      // A machine looking for nodes (wizard join): announce now. announceSoon coalesces, so a flood of queries is one announcement a second.
      this.queries++;
      this.announceSoon();
      return;
    }
    const heard = this.deps.sightings.hear(packet, from);
    if (heard.outcome === 'dropped') {
      // Debug only: a flood must not turn into a flood of log lines.
      if (heard.reason !== 'self') this.deps.log.debug({ from, bytes: packet.length, reason: heard.reason }, 'dropped a LAN announcement');
      return;
    }
    if (heard.outcome === 'refreshed') return;
    const s = heard.sighting;
    this.deps.log.info({ node: s.id.slice(0, 8), name: s.name, address: `${s.host}:${s.port}`, outcome: heard.outcome }, heard.outcome === 'new' ? 'saw a node on the LAN' : 'a node on the LAN moved');
    // It may have just started: tell it about us now rather than at our next tick.
    if (heard.outcome === 'new') this.announceSoon();
    this.deps.onFound(s);
  }

  private announce(): void {
    const socket = this.socket;
    const port = this.deps.listenPort();
    if (socket === undefined || port === 0 || this.stopped) return;
    const packet = encodeAnnouncement({ id: this.deps.selfId, name: this.deps.name(), port });
    for (const target of this.targets) {
      socket.send(packet, this.deps.udpPort, target, (err) => {
        // One interface going away must not stop the others; the next poll drops it.
        if (err !== null) this.deps.log.debug({ target, err: describeError(err) }, 'LAN announcement not sent');
      });
    }
    if (this.targets.length > 0) {
      this.announcements++;
      this.lastAnnouncedAtMs = this.deps.clock.now();
    }
  }

  private pollInterfaces(): void {
    if (!this.readInterfaces()) return;
    this.deps.log.info({ targets: this.targets }, 'network addresses changed; announcing on the LAN');
    this.announce();
  }

  /** Reads the interfaces into `targets`; true when this machine's addresses or subnets changed. */
  private readInterfaces(): boolean {
    let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
    try {
      interfaces = this.deps.interfaces();
    } catch (err) {
      this.deps.log.warn({ err: describeError(err) }, 'cannot list network interfaces');
      interfaces = {};
    }
    const targets = broadcastTargets(interfaces);
    const key = [...ipv4Addresses(interfaces), '|', ...targets].join(',');
    const changed = key !== this.addressKey;
    this.targets = targets;
    this.addressKey = key;
    return changed;
  }

  private every(job: string, ms: number, fn: () => void): void {
    const tick = () => {
      if (this.stopped) return;
      fn();
      this.cancels.set(job, this.deps.clock.setTimer(ms, tick));
    };
    this.cancels.set(job, this.deps.clock.setTimer(ms, tick));
  }
}
