/**
 * The composition root: one running Wizard node built from a config. It owns
 * the listener, the folders (node/folder-set.ts), the peer links
 * (node/peer-links.ts) and the dialers, and wires them together; the logic
 * lives in the parts.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { NodeCredentials } from './certs/store.js';
import { editConfig } from './config/file.js';
import type { Config, PeerConfig } from './config/schema.js';
import type { Clock } from './core/clock.js';
import { type ConfigError, describeError, WizardError } from './core/errors.js';
import { SteadyTime } from './core/steady-time.js';
import type { IndexStore } from './index/store.js';
import { FolderSet } from './node/folder-set.js';
import { nodeStatus } from './node/node-status.js';
import { DEFAULT_PORT, PeerLinks } from './node/peer-links.js';
import { type ConfigProblem, type StatusSnapshot } from './status/snapshot.js';
import { explainPath, type Why } from './status/why.js';
import { gatherWhy } from './status/why-input.js';
import type { Supervisor } from './supervisor/supervisor.js';
import { readUmask } from './sync/disk/permissions.js';
import { CounterRefusals } from './sync/peers/counter-refusals.js';
import { TransferSlots } from './sync/pull/transfer-slots.js';
import { ServeBudget } from './sync/serve/serve-budget.js';
import { TrashPurger } from './sync/trash/trash-purger.js';
import { formatHostPort, parseHostPort } from './transport/address.js';
import { Dialers } from './transport/dialers.js';
import type { SessionOptions } from './transport/session.js';
import { listen, type Listener } from './transport/tls.js';
import { TokenBucket } from './transport/token-bucket.js';
import { ViolationBackoff } from './transport/violation-backoff.js';
import type { InviteRequest } from './trust/enrol-server.js';
import { LanDiscovery, type LanLookup } from './discovery/lan-discovery.js';
import type { LanServiceOptions } from './discovery/lan-service.js';
import { PairingDesk } from './trust/pairing-desk.js';
import { PeerWaits } from './trust/peer-waits.js';
import { TrustService } from './trust/trust-service.js';
import { WorkerPool } from './workers/pool.js';

/** Default port of the Wizard protocol. */
export { DEFAULT_PORT };

/** What a node is built from. */
export interface NodeDeps {
  readonly home: string;
  /** The user's home dir, for '~' in config paths. */
  readonly homeDir: string;
  readonly config: Config;
  readonly credentials: NodeCredentials;
  readonly store: IndexStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly random?: () => number;
  /** Changes the level of the daemon's loggers (root and children); without it only the root's level is set. */
  readonly setLogLevel?: (level: string) => void;
  /** The process's umask (what pulled files' modes are filtered through); read once from the process by default. */
  readonly umask?: number;
  /** A clock that never jumps, for the trash purge; performance.now by default. */
  readonly monotonicMs?: () => number;
  /** Runs the node's long-running parts (folders, dialers, trash purge) and restarts them when they crash. */
  readonly supervisor: Supervisor;
  /** Ping and idle timings of peer sessions; the defaults suit real networks, tests shrink them. */
  readonly session?: Pick<SessionOptions, 'pingIntervalMs' | 'idleTimeoutMs'>;
  /** LAN discovery's announce and interface-poll timings; the defaults suit real networks. */
  readonly lanTimings?: LanServiceOptions;
}

/** The status types, where callers of the node have always found them. */
export type { ConfigProblem, PeerStatus, SettingsStatus, StatusSnapshot } from './status/snapshot.js';

/** Errors kept for status. */
const MAX_ERRORS = 20;

/** A running node. */
export class WizardNode {
  private config: Config;
  private listener: Listener | undefined;
  private readonly folders: FolderSet;
  private readonly links: PeerLinks;
  private readonly dialers: Dialers;
  /** Peers that broke the protocol, neither dialed nor accepted for a while. */
  private readonly violations: ViolationBackoff;
  /** Index entries refused for implausible version counters, per peer and folder. */
  private readonly refusals: CounterRefusals;
  private readonly recentErrors: string[] = [];
  private configProblem: ConfigProblem | undefined;
  private stopped = false;
  private readonly purger: TrashPurger;
  /** Clock readings a clock step cannot turn against the trash: its stamps and its purge share them. */
  private readonly steady: SteadyTime;
  /** Elapsed real time, which a wall-clock step does not move. */
  private readonly monotonicMs: () => number;
  /** Hashing and delta work, off the event loop; as many threads as the `hashers` limit. */
  private readonly pool: WorkerPool;
  /** At most `limits.transfers` downloads at once, across every folder and peer. */
  private readonly slots = new TransferSlots(() => this.config.limits.transfers);
  /** Enrolment by invite, introductions, and the CA-signed revocation list. */
  private readonly trust: TrustService;
  /** Unknown nodes' Hellos waiting a moment for a `wizard pair` here to name them (peer-waits.ts). */
  private readonly peerWaits: PeerWaits;
  /** Answers pairing requests, and keeps those waiting for 'wizard peer accept' (trust: allowlist). */
  private readonly pairing: PairingDesk;
  /** Announcements on the LAN, and where peers were seen: more addresses to dial them at. */
  private readonly lan: LanDiscovery;

  constructor(private readonly deps: NodeDeps) {
    this.config = deps.config;
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
    this.steady = new SteadyTime(deps.clock, this.monotonicMs);
    this.pool = new WorkerPool(() => this.config.limits.hashers, { clock: deps.clock });
    this.purger = new TrashPurger({
      clock: deps.clock,
      monotonicMs: this.monotonicMs,
      steady: this.steady,
      folders: () => this.folders.trashRoots(),
      retentionDays: () => this.config.trash.retentionDays,
      maxBytes: () => this.config.trash.maxBytes,
      log: deps.log.child({ part: 'trash' }),
    });
    this.peerWaits = new PeerWaits(deps.clock);
    this.pairing = new PairingDesk({
      ...deps,
      nodeId: deps.credentials.nodeId,
      config: () => this.config,
      listenPort: () => this.listenPort(),
      applyConfig: (next) => this.applyConfig(next),
      noteError: (message, err) => this.noteError(message, err),
    });
    this.violations = new ViolationBackoff(this.monotonicMs, () => deps.clock.now());
    this.refusals = new CounterRefusals({ log: deps.log, now: () => deps.clock.now() });
    this.trust = new TrustService({
      home: deps.home,
      certsDir: path.join(deps.home, 'certs'),
      caPem: deps.credentials.caPem,
      nodeId: deps.credentials.nodeId,
      config: () => this.config,
      listenPort: () => this.listenPort(),
      clock: deps.clock,
      log: deps.log,
      editConfig: (edit) => this.applyConfig(editConfig(deps.home, edit, { homeDir: deps.homeDir })),
      session: (id) => this.links.live(id)?.session,
      sessions: () => this.links.allLive().map((l) => l.session),
    });
    this.links = new PeerLinks({
      id: this.id,
      config: () => this.config,
      credentials: deps.credentials,
      store: deps.store,
      clock: deps.clock,
      log: deps.log,
      ...(deps.session === undefined ? {} : { session: deps.session }),
      // The bandwidth limits, shared by every peer and read from the config on each use.
      upload: new TokenBucket(() => this.config.limits.bandwidthUp, () => deps.clock.now()),
      download: new TokenBucket(() => this.config.limits.bandwidthDown, () => deps.clock.now()),
      folder: (id) => this.folders.get(id),
      serving: new ServeBudget({ clock: deps.clock }),
      refusals: this.refusals,
      violations: this.violations,
      trust: this.trust,
      pairing: this.pairing,
      peerWaits: this.peerWaits,
      listenPort: () => this.listenPort(),
      isRevoked: (id) => this.isRevoked(id),
      linkDown: (id, restart) => this.dialers.linkDown(id, restart),
    });
    this.folders = new FolderSet({
      home: deps.home,
      nodeId: this.id,
      config: () => this.config,
      store: deps.store,
      supervisor: deps.supervisor,
      clock: deps.clock,
      monotonicMs: this.monotonicMs,
      steady: this.steady,
      umask: deps.umask ?? readUmask(),
      log: deps.log,
      runner: this.pool,
      slots: this.slots,
      peers: (folderId) => this.links.folderPeers(folderId),
      noteError: (message, err) => this.noteError(message, err),
    });
    this.dialers = new Dialers({
      supervisor: deps.supervisor,
      clock: deps.clock,
      log: deps.log,
      random: deps.random ?? Math.random,
      // Each candidate address in turn (configured, where it was seen on the LAN); the pinned ID is the only proof.
      connect: (peer, signal) => {
        const current = this.peerConfig(peer.id) ?? peer;
        return this.lan.dialEach(current, signal, (address) => this.links.connect({ ...current, address }, signal));
      },
      isConnected: (id) => this.links.isConnected(id),
      holdOffMs: (id) => this.violations.waitMs(id),
    });
    this.lan = new LanDiscovery({
      supervisor: deps.supervisor,
      clock: deps.clock,
      log: deps.log,
      selfId: deps.credentials.nodeId,
      name: () => this.config.name,
      listenPort: () => this.listenPort(),
      enabled: () => this.config.discovery.lan,
      ...(deps.lanTimings === undefined ? {} : { timings: deps.lanTimings }),
      // A paired peer seen at a new address: its dial loop (made now for a peer without an address) tries again at once.
      onFound: (s) => {
        if (this.peerConfig(s.id)?.address === '') this.syncDialers();
        this.dialers.hurry(s.id);
      },
    });
  }

  /** This node's ID. */
  get id(): string {
    return this.deps.credentials.nodeId;
  }

  /** Binds the listener, starts every folder and dials every peer. */
  async start(): Promise<void> {
    this.folders.loadIgnore();
    await this.bind();
    this.folders.sync();
    this.syncDialers();
    this.lan.apply();
    void this.deps.supervisor.add({ name: 'trash-purger', start: (crash) => this.purger.start(crash), stop: () => this.purger.stop() });
  }

  /** Closes every link, stops folders and dialers, closes the listener. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.peerWaits.stop();
    await this.deps.supervisor.remove('trash-purger');
    await this.lan.stop();
    await this.dialers.stop();
    this.links.closeAll();
    await this.folders.stopAll();
    await this.listener?.close();
    await this.pool.close();
  }

  /** Applies a new config to the running node: folders, peers, limits, ignores. */
  applyConfig(next: Config): void {
    if (this.stopped) return;
    const previous = this.config;
    this.config = next;
    if (this.deps.setLogLevel !== undefined) this.deps.setLogLevel(next.log.level);
    else this.deps.log.level = next.log.level;
    this.folders.sync();
    // Only new ignore rules change what a scan finds; a full rescan of a big folder for a log-level edit would be waste.
    this.folders.reloadIgnore();
    // A raised transfer limit starts waiting downloads now, not when the next one ends.
    this.slots.pump();
    this.links.applyConfig(previous, next);
    this.peerWaits.configChanged();
    // A peer that is gone must not keep winning decisions with versions no connected node can serve.
    for (const old of previous.peers) {
      if (this.peerConfig(old.id) !== undefined && !next.revoked.includes(old.id)) continue;
      for (const folder of next.folders) this.deps.store.forgetPeer(folder.id, old.id);
    }
    this.lan.apply();
    this.syncDialers();
    if (previous.listen !== next.listen) void this.rebind();
  }

  /** Re-reads the master ignore list; when it changed, every folder rescans (see FolderSet.reloadIgnore). */
  reloadIgnore(): void {
    if (this.stopped) return;
    if (this.folders.reloadIgnore()) this.deps.log.info('ignore list changed; rescanning folders');
  }

  /** Records that the config file on disk is invalid (shown in status until a good one loads); undefined clears it. */
  reportConfigProblem(err: ConfigError | undefined): void {
    if (err === undefined) {
      this.configProblem = undefined;
      return;
    }
    this.configProblem = { message: err.message, ...(err.file === undefined ? {} : { file: err.file }), ...(err.line === undefined ? {} : { line: err.line }), atMs: this.deps.clock.now() };
  }

  /** Explains one path of a folder for `status --why`. */
  async why(folderId: string, rel: string): Promise<Why> {
    const folder = this.folders.running(folderId);
    const peers = this.config.peers.map((p) => ({ id: p.id, name: p.name, connected: this.links.isConnected(p.id) }));
    return explainPath(await gatherWhy({ folder, store: this.deps.store, peers, nowMs: this.deps.clock.now() }, rel));
  }

  /** True once every folder stop under way (a pause, a removal) has ended; false if `maxMs` passes first. */
  foldersSettled(maxMs: number): Promise<boolean> {
    return this.folders.settled(maxMs);
  }

  /** The status snapshot. */
  status(): StatusSnapshot {
    return nodeStatus({
      id: this.id,
      config: this.config,
      listen: this.listener === undefined ? '' : formatHostPort(this.listener.host, this.listener.port),
      folders: this.folders,
      links: this.links,
      refusals: this.refusals,
      violations: this.violations,
      lan: this.lan,
      pairing: this.pairing,
      slots: this.slots,
      supervisor: this.deps.supervisor,
      recentErrors: this.recentErrors,
      configProblem: this.configProblem,
      workerThreads: this.pool.threads(),
    });
  }

  /** The nodes seen on the LAN recently that `query` (a name or ID prefix) means, for `wizard pair NAME`. */
  lanLookup(query: string): LanLookup {
    return this.lan.lookup(query);
  }

  /** `wizard invite`: a one-time code for a machine to join by. */
  invite(req: InviteRequest): { code: string; expiresAtMs: number } {
    return this.trust.invite(req);
  }

  /** After `peer remove --revoke` edited the config: with the CA key, a signed list that goes to every peer. */
  revoke(id: string): { spreads: boolean; version?: number } {
    return this.trust.revoke(id);
  }

  /**
   * `wizard folder override` (send-only: our versions win) or `revert`
   * (receive-only: local changes are given up); returns the paths it changed.
   */
  async modeAction(folderId: string, action: 'override' | 'revert'): Promise<string[]> {
    const folder = this.folders.running(folderId);
    const needs = action === 'override' ? 'send-only' : 'receive-only';
    if (folder.mode !== needs) throw new WizardError('USAGE', `folder '${folderId}' is ${folder.mode}; ${action} is for a ${needs} folder ('wizard folder mode ${folderId} ${needs}')`);
    return action === 'override' ? folder.override() : folder.revert();
  }

  /** `wizard peer accept`: records a node whose pairing request waits here; returns the folders now shared with it. */
  acceptPairing(id: string): string[] {
    return this.pairing.accept(id);
  }

  /** Lets a folder's held deletions go (`wizard resume`); returns how many were held. */
  resume(folderId: string): number {
    return this.folders.running(folderId).confirmDeletions();
  }

  // ---- listener ------------------------------------------------------------------------------

  private async bind(): Promise<void> {
    const { host, port } = parseHostPort(this.config.listen, DEFAULT_PORT, { allowZero: true });
    this.listener = await listen({
      host,
      port,
      credentials: this.deps.credentials,
      onConnection: (socket, peerId) => {
        socket.on('error', () => undefined);
        this.links.accept(socket, peerId).catch((err: unknown) => this.deps.log.warn({ err: describeError(err) }, 'inbound connection failed'));
      },
      onError: (err) => this.deps.log.info({ err: describeError(err) }, 'rejected an inbound connection'),
      onEnrol: (socket) => this.trust.serveEnrolment(socket),
    });
    this.deps.log.info({ listen: formatHostPort(this.listener.host, this.listener.port) }, 'listening');
  }

  private async rebind(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
    await this.bind().catch((err: unknown) => this.noteError(`cannot listen on ${this.config.listen}: ${describeError(err)}`, err));
  }

  private listenPort(): number {
    return this.listener?.port ?? 0;
  }

  private syncDialers(): void {
    // A peer without an address is dialed once it was seen on the LAN, where it was seen.
    this.dialers.sync(this.config.peers.filter((p) => (p.address !== '' || this.lan.seenAt(p.id) !== undefined) && p.id !== this.id && !this.isRevoked(p.id)));
  }

  /** Revoked here (config.yaml) or by the CA's signed list: refused before any message. */
  private isRevoked(id: string): boolean {
    return this.config.revoked.includes(id) || this.trust.isRevoked(id);
  }

  private peerConfig(id: string): PeerConfig | undefined {
    return this.config.peers.find((p) => p.id === id);
  }

  private noteError(message: string, err: unknown): void {
    this.deps.log.error({ err }, message);
    this.recentErrors.push(`${new Date(this.deps.clock.now()).toISOString()} ${message}`);
    if (this.recentErrors.length > MAX_ERRORS) this.recentErrors.shift();
  }
}
