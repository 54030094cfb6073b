/**
 * The composition root: one running Wizard node built from a config. It owns
 * the listener, the folders, the peer links and the dialers, and wires them
 * together; the logic lives in the parts.
 */
import { nodeNameOf } from './config/node-names.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { NodeCredentials } from './certs/store.js';
import { editConfig, ignorePath } from './config/file.js';
import { foldersSharedWith, isSharedWith, shareKey } from './config/shares.js';
import type { Config, PeerConfig } from './config/schema.js';
import type { Clock } from './core/clock.js';
import { type ConfigError, describeError, WizardError } from './core/errors.js';
import type { IndexStore } from './index/store.js';
import type { Hello } from './protocol/messages.js';
import { PROTOCOL_VERSION } from './protocol/messages.js';
import { helloFolder, PeerLink } from './sync/peers/exchange.js';
import { Folder } from './sync/folder.js';
import { TrashPurger } from './sync/trash/trash-purger.js';
import { SteadyTime } from './core/steady-time.js';
import type { Supervisor } from './supervisor/supervisor.js';
import { type ConfigProblem, peerTrouble, settingsOf, type StatusSnapshot } from './status/snapshot.js';
import { explainPath, type Why } from './status/why.js';
import { folderOffers } from './status/offers.js';
import { isLocalChange } from './sync/mode-actions.js';
import { readUmask } from './sync/disk/permissions.js';
import { gatherWhy } from './status/why-input.js';
import { formatHostPort, parseHostPort } from './transport/address.js';
import { dial, listen, type Listener } from './transport/tls.js';
import { Dialers } from './transport/dialers.js';
import { PeerSession, short, type SessionOptions } from './transport/session.js';
import { isViolation, ViolationBackoff } from './transport/violation-backoff.js';
import { CounterRefusals } from './sync/peers/counter-refusals.js';
import { TokenBucket } from './transport/token-bucket.js';
import { TransferSlots } from './sync/pull/transfer-slots.js';
import { ServeBudget } from './sync/serve/serve-budget.js';
import { shortId } from './versions/vector.js';
import { PeerWaits } from './trust/peer-waits.js';
import { PairingDesk } from './trust/pairing-desk.js';
import { WorkerPool } from './workers/pool.js';
import { processStatus } from './status/process-status.js';
import { TrustService } from './trust/trust-service.js';
import type { InviteRequest } from './trust/enrol-server.js';

/** Default port of the Wizard protocol. */
export const DEFAULT_PORT = 7842;

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
}

/** The status types, where callers of the node have always found them. */
export type { ConfigProblem, PeerStatus, SettingsStatus, StatusSnapshot } from './status/snapshot.js';

/** Errors kept for status. */
const MAX_ERRORS = 20;

/** A running node. */
export class WizardNode {
  private config: Config;
  private listener: Listener | undefined;
  private readonly folders = new Map<string, Folder>();
  private readonly links = new Map<string, PeerLink>();
  private readonly dialers: Dialers;
  /** Peers that broke the protocol, neither dialed nor accepted for a while. */
  private readonly violations: ViolationBackoff;
  /** Index entries refused for implausible version counters, per peer and folder. */
  private readonly refusals: CounterRefusals;
  /** Bytes of sessions that have ended, per peer, so totals survive reconnects. */
  private readonly pastBytes = new Map<string, { sent: number; received: number }>();
  private readonly recentErrors: string[] = [];
  /** The master ignore list; undefined while its file exists but has never been readable (folders wait for it). */
  private masterIgnore: string | undefined;
  private configProblem: ConfigProblem | undefined;
  private stopped = false;
  private readonly purger: TrashPurger;
  /** Clock readings a clock step cannot turn against the trash: its stamps and its purge share them. */
  private readonly steady: SteadyTime;
  /** Elapsed real time, which a wall-clock step does not move. */
  private readonly monotonicMs: () => number;
  private readonly umask: number;
  /** Hashing and delta work, off the event loop; as many threads as the `hashers` limit. */
  private readonly pool: WorkerPool;
  /** At most `limits.transfers` downloads at once, across every folder and peer. */
  private readonly slots = new TransferSlots(() => this.config.limits.transfers);
  /** The bandwidth limits, shared by every peer and read from the config on each use. */
  private readonly upload = new TokenBucket(() => this.config.limits.bandwidthUp, () => this.deps.clock.now());
  private readonly download = new TokenBucket(() => this.config.limits.bandwidthDown, () => this.deps.clock.now());
  /** Disk reads and hashing done for peers' requests, shared fairly between the links asking. */
  private readonly serving: ServeBudget;
  /** Enrolment by invite, introductions, and the CA-signed revocation list. */
  private readonly trust: TrustService;
  /** Unknown nodes' Hellos waiting a moment for a `wizard pair` here to name them (peer-waits.ts). */
  private readonly peerWaits: PeerWaits;
  /** Answers pairing requests, and keeps those waiting for 'wizard peer accept' (trust: allowlist). */
  private readonly pairing: PairingDesk;

  constructor(private readonly deps: NodeDeps) {
    this.config = deps.config;
    this.monotonicMs = deps.monotonicMs ?? (() => performance.now());
    this.umask = deps.umask ?? readUmask();
    this.steady = new SteadyTime(deps.clock, this.monotonicMs);
    this.pool = new WorkerPool(() => this.config.limits.hashers, { clock: deps.clock });
    this.purger = new TrashPurger({
      clock: deps.clock,
      monotonicMs: this.monotonicMs,
      steady: this.steady,
      folders: () => this.config.folders.map((f) => ({ id: f.id, root: f.path })),
      retentionDays: () => this.config.trash.retentionDays,
      maxBytes: () => this.config.trash.maxBytes,
      log: deps.log.child({ part: 'trash' }),
    });
    this.serving = new ServeBudget({ clock: deps.clock });
    this.peerWaits = new PeerWaits(deps.clock);
    this.pairing = new PairingDesk({
      ...deps,
      nodeId: deps.credentials.nodeId,
      config: () => this.config,
      listenPort: () => this.listener?.port ?? 0,
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
      listenPort: () => this.listener?.port ?? 0,
      clock: deps.clock,
      log: deps.log,
      editConfig: (edit) => this.applyConfig(editConfig(deps.home, edit, { homeDir: deps.homeDir })),
      session: (id) => this.liveSession(id),
      sessions: () => [...this.links.values()].map((l) => l.session).filter((s) => !s.isClosed),
    });
    this.dialers = new Dialers({
      supervisor: deps.supervisor,
      clock: deps.clock,
      log: deps.log,
      random: deps.random ?? Math.random,
      connect: (peer, signal) => this.connect(this.peerConfig(peer.id) ?? peer, signal),
      isConnected: (id) => this.links.get(id)?.session.isClosed === false,
      holdOffMs: (id) => this.violations.waitMs(id),
    });
  }

  /** This node's ID. */
  get id(): string {
    return this.deps.credentials.nodeId;
  }

  /** Binds the listener, starts every folder and dials every peer. */
  async start(): Promise<void> {
    this.masterIgnore = this.readMasterIgnore();
    await this.bind();
    this.syncFolders();
    this.syncDialers();
    void this.deps.supervisor.add({ name: 'trash-purger', start: (crash) => this.purger.start(crash), stop: () => this.purger.stop() });
  }

  /** Closes every link, stops folders and dialers, closes the listener. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.peerWaits.stop();
    const sup = this.deps.supervisor;
    await sup.remove('trash-purger');
    await this.dialers.stop();
    for (const link of this.links.values()) link.session.close('shutting down');
    // A folder waiting to restart is not in the map; its service still has to go.
    const folderIds = new Set([...this.folders.keys(), ...this.config.folders.map((f) => f.id)]);
    await Promise.all([...folderIds].map((id) => sup.remove(folderService(id))));
    this.folders.clear();
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
    const ignoreBefore = this.masterIgnore;
    this.masterIgnore = this.readMasterIgnore();
    this.syncFolders();
    // A raised transfer limit starts waiting downloads now, not when the next one ends.
    this.slots.pump();
    // Links whose peer is gone or revoked close now; a link whose shares changed starts over, so its Hellos
    // carry them and a folder no longer shared loses its index exchange and transfers with that peer at once.
    for (const link of [...this.links.values()]) {
      if (this.peerConfig(link.peerId) === undefined || next.revoked.includes(link.peerId)) link.session.close('peer removed from config');
      else if (shareKey(previous, link.peerId) !== shareKey(next, link.peerId)) link.session.close('shared folders changed');
    }
    this.peerWaits.configChanged();
    // A peer that is gone must not keep winning decisions with versions no connected node can serve.
    for (const old of previous.peers) {
      if (this.peerConfig(old.id) !== undefined && !next.revoked.includes(old.id)) continue;
      for (const folder of next.folders) this.deps.store.forgetPeer(folder.id, old.id);
    }
    this.syncDialers();
    if (previous.listen !== next.listen) void this.rebind();
    // Only new ignore rules change what a scan finds; a full rescan of a big folder for a log-level edit would be waste.
    if (this.masterIgnore !== ignoreBefore) for (const folder of this.folders.values()) folder.queueScan(['']);
  }

  /**
   * Re-reads the master ignore list; when it changed, every folder rescans: a
   * newly ignored path stops syncing (and is not deleted on peers), a newly
   * un-ignored subtree is scanned and pulled.
   */
  reloadIgnore(): void {
    if (this.stopped) return;
    const next = this.readMasterIgnore();
    if (next === this.masterIgnore) return;
    this.masterIgnore = next;
    this.deps.log.info('ignore list changed; rescanning folders');
    for (const folder of this.folders.values()) folder.queueScan(['']);
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
    const folder = this.folders.get(folderId);
    if (folder === undefined) throw new WizardError('USAGE', `folder '${folderId}' is not running on this daemon`);
    const peers = this.config.peers.map((p) => ({ id: p.id, name: p.name, connected: this.links.get(p.id)?.session.isClosed === false }));
    return explainPath(await gatherWhy({ folder, store: this.deps.store, peers, nowMs: this.deps.clock.now() }, rel));
  }

  /** The status snapshot. */
  status(): StatusSnapshot {
    const peers = this.config.peers.map((p) => {
      const link = this.links.get(p.id);
      const past = this.pastBytes.get(p.id) ?? { sent: 0, received: 0 };
      const live = link !== undefined && !link.session.isClosed ? link.session : undefined;
      return {
        id: p.id,
        name: p.name,
        address: p.address,
        connected: live !== undefined,
        bytesSent: past.sent + (link?.session.bytesSent ?? 0),
        bytesReceived: past.received + (link?.session.bytesReceived ?? 0),
        ...(live === undefined ? {} : live.stats()),
        ...peerTrouble(this.refusals.of(p.id), this.violations.status(p.id)),
      };
    });
    const folders = [...this.folders.values()].map((f) => f.status());
    const live = [...this.links.values()].filter((l) => !l.session.isClosed);
    const offers = folderOffers(this.config, live.map((l) => ({ peer: l.peerId, folders: l.session.peerHello?.folders.map((f) => f.id) ?? [] })));
    const errors = [...this.recentErrors, ...[...this.folders.values()].flatMap((f) => f.errors())];
    return {
      id: this.id,
      name: this.config.name,
      listen: this.listener === undefined ? '' : formatHostPort(this.listener.host, this.listener.port),
      peers,
      folders,
      offers,
      pairingRequests: this.pairing.requests.list(),
      errors,
      transfers: [...this.folders.values()].flatMap((f) => f.transfers.list().map((t) => ({ folder: f.id, ...t }))),
      transferSlots: { running: this.slots.active, files: this.slots.activeFiles, waiting: this.slots.queued, peak: this.slots.mostActive },
      settings: settingsOf(this.config),
      services: this.deps.supervisor.status(),
      ...(this.configProblem === undefined ? {} : { configProblem: this.configProblem }),
      process: processStatus(this.pool.threads()),
    };
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
    const folder = this.folders.get(folderId);
    if (folder === undefined) throw new WizardError('USAGE', `no folder '${folderId}'; 'wizard status' lists the folders`);
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
    const folder = this.folders.get(folderId);
    if (folder === undefined) throw new WizardError('USAGE', `no folder '${folderId}'; 'wizard status' lists the folders`);
    return folder.confirmDeletions();
  }

  // ---- folders -------------------------------------------------------------------------------

  private syncFolders(): void {
    const wanted = new Map(this.config.folders.map((f) => [f.id, f]));
    for (const [id, folder] of this.folders) {
      const cfg = wanted.get(id);
      if (cfg === undefined || cfg.path !== folder.root) {
        this.folders.delete(id);
        void this.deps.supervisor.remove(folderService(id));
      }
    }
    for (const cfg of this.config.folders) {
      if (this.folders.has(cfg.id)) continue;
      // A restart after a crash builds the folder afresh: a stopped Folder cannot start again.
      let folder = this.newFolder(cfg);
      this.folders.set(cfg.id, folder);
      void this.deps.supervisor.add({
        name: folderService(cfg.id),
        start: async (crash) => {
          // The crashed folder is still in the map (see stop below), so it must be told apart by its state.
          if (this.folders.get(cfg.id) !== folder || folder.state === 'stopped') {
            folder = this.newFolder(cfg);
            this.folders.set(cfg.id, folder);
          }
          try {
            await folder.start(crash);
          } catch (err) {
            this.noteError(`folder ${cfg.id} failed to start: ${describeError(err)}; retrying`, err);
            throw err;
          }
        },
        // The stopped folder stays in the map until its restart replaces it (a config change removes it
        // there first): peers' index updates still reach the store meanwhile, and status still lists it.
        stop: () => folder.stop(),
      });
    }
  }

  private newFolder(cfg: Config['folders'][number]): Folder {
    return new Folder({
      id: cfg.id,
      root: cfg.path,
      store: this.deps.store,
      localId: shortId(this.id),
      nodeName: (id) => nodeNameOf(this.config, this.id, id),
      umask: this.umask,
      clock: this.deps.clock,
      monotonicMs: this.monotonicMs,
      trashClock: { now: () => this.steady.notBefore() },
      log: this.deps.log.child({ folder: cfg.id }),
      masterIgnore: () => this.masterIgnore,
      limits: () => this.config.limits,
      rescanIntervalMs: () => this.config.rescanIntervalS * 1000,
      deletionBudget: () => this.config.deletionBudget,
      tombstoneDays: () => this.config.tombstoneDays,
      runner: this.pool,
      slots: this.slots,
      mode: () => this.config.folders.find((f) => f.id === cfg.id)?.mode ?? 'send-receive',
      peers: {
        connected: () => [...this.links.values()].filter((l) => l.shares(cfg.id) && !l.session.isClosed).map((l) => l.peerId),
        readBlock: (peer, req) => {
          const link = this.links.get(peer);
          if (link === undefined) return Promise.reject(new WizardError('UNREACHABLE', `peer ${short(peer)} is not connected`));
          return link.session.request({ folder: cfg.id, ...req });
        },
        readSums: (peer, req) => {
          const link = this.links.get(peer);
          if (link === undefined) return Promise.reject(new WizardError('UNREACHABLE', `peer ${short(peer)} is not connected`));
          return link.session.requestSums({ folder: cfg.id, ...req });
        },
        announce: () => {
          for (const link of this.links.values()) link.announce(cfg.id);
        },
      },
    });
  }

  /**
   * The master ignore list's text: '' when there is no file. A file that
   * cannot be read keeps the last good list in force; reading it as empty
   * would un-ignore everything and send ignored secrets to the peers.
   */
  private readMasterIgnore(): string | undefined {
    try {
      return readFileSync(ignorePath(this.deps.home), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      const keeps = this.masterIgnore === undefined ? 'no folder is scanned until it can be read' : 'the last good ignore list stays in force';
      this.noteError(`cannot read ${ignorePath(this.deps.home)}: ${describeError(err)}; ${keeps}`, err);
      return this.masterIgnore;
    }
  }

  // ---- listener and links --------------------------------------------------------------------

  private async bind(): Promise<void> {
    const { host, port } = parseHostPort(this.config.listen, DEFAULT_PORT, { allowZero: true });
    this.listener = await listen({
      host,
      port,
      credentials: this.deps.credentials,
      onConnection: (socket, peerId) => {
        socket.on('error', () => undefined);
        this.accept(socket, peerId).catch((err: unknown) => this.deps.log.warn({ err: describeError(err) }, 'inbound connection failed'));
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

  private async accept(socket: TLSSocket, peerId: string): Promise<void> {
    const log = this.deps.log.child({ peer: short(peerId) });
    if (peerId === this.id) {
      log.warn('refused a connection from this node itself');
      socket.destroy();
      return;
    }
    if (this.isRevoked(peerId)) {
      log.warn('refused a revoked node');
      socket.destroy();
      return;
    }
    const session = this.newSession(socket, peerId, 'in', log);
    // The dialer speaks first; our answer depends on what it asks (pair or sync), so it waits for that.
    const theirs = await session.receiveHello();
    if (theirs.intent === 'pair') {
      await this.pairing.answer(session, theirs, socket.remoteAddress ?? '', log);
      return;
    }
    // An unknown node learns nothing about our folders. One that paired a moment ago may be ahead of the config.
    if (!(await this.peerWaits.wait(() => this.peerConfig(peerId) !== undefined))) {
      session.close(`not paired: run 'wizard pair' on one of the two machines first`);
      return;
    }
    const ours = this.hello(peerId);
    await session.handshake(ours);
    this.register(session, ours, theirs);
  }

  /** A session with `peerId` over `socket`; one the peer ends by breaking the protocol puts it under a penalty. */
  private newSession(socket: TLSSocket, peerId: string, direction: 'in' | 'out', log: Logger): PeerSession {
    const options: SessionOptions = { compression: () => this.config.compression, upload: this.upload, download: this.download, ...this.deps.session };
    const session = new PeerSession({ socket, clock: this.deps.clock, log }, peerId, direction, options);
    void session.closed.then((reason) => {
      if (isViolation(reason)) this.violations.record(peerId, reason);
    });
    return session;
  }

  private async connect(peer: PeerConfig, signal: AbortSignal): Promise<void> {
    const { host, port } = parseHostPort(peer.address, DEFAULT_PORT);
    const log = this.deps.log.child({ peer: short(peer.id) });
    const { socket } = await dial({ host, port, credentials: this.deps.credentials, expectedId: peer.id, signal });
    if (this.isRevoked(peer.id)) {
      socket.destroy();
      throw new WizardError('PEER_AUTH', `peer ${short(peer.id)} is revoked`);
    }
    const session = this.newSession(socket, peer.id, 'out', log);
    const ours = this.hello(peer.id);
    const theirs = await session.handshake(ours);
    this.register(session, ours, theirs);
  }

  /**
   * Makes a handshaken session the link to its peer. Both ends may have dialed
   * at once; both then keep the connection whose dialer has the lower node ID,
   * so they agree without talking about it.
   */
  private register(session: PeerSession, ours: Hello, theirs: Hello): void {
    if (this.stopped) {
      session.close('shutting down');
      return;
    }
    const existing = this.links.get(session.peerId);
    if (existing !== undefined && !existing.session.isClosed) {
      const dialer = (s: PeerSession) => (s.direction === 'out' ? this.id : s.peerId);
      // Same dialer: the peer reconnected (after sleep, a network change) while we still hold its dead link; the new one wins.
      if (dialer(session) > dialer(existing.session)) {
        session.close('duplicate connection');
        return;
      }
      this.links.delete(session.peerId);
      existing.session.close('duplicate connection');
    }
    const link = new PeerLink({
      session,
      store: this.deps.store,
      folder: (id) => this.folders.get(id),
      isShared: (folder) => isSharedWith(this.config, folder, session.peerId),
      log: this.deps.log.child({ peer: short(session.peerId) }),
      clock: this.deps.clock,
      serving: this.serving.open(),
      onRefused: (folder, refused) => this.refusals.note(session.peerId, short(session.peerId), folder, refused),
      onClose: (l, reason) => this.onLinkClosed(l, reason),
      onTrust: (msg) => this.trust.onMessage(session, msg),
      // A receive-only folder's local changes (versions no peer holds) stay here.
      withholds: (folder, entry) => this.folders.get(folder)?.mode === 'receive-only' && isLocalChange(entry, this.deps.store.remotesFor(folder, entry.path)),
    });
    this.links.set(session.peerId, link);
    this.deps.log.info({ peer: short(session.peerId), name: theirs.name, direction: session.direction }, 'connected');
    try {
      link.start(ours, theirs);
      this.trust.linkUp(session);
    } catch (err) {
      this.deps.log.warn({ peer: short(session.peerId), err: describeError(err) }, 'index exchange failed; closing');
      session.close(`index exchange failed: ${describeError(err)}`);
    }
  }

  private onLinkClosed(link: PeerLink, reason: string): void {
    const past = this.pastBytes.get(link.peerId) ?? { sent: 0, received: 0 };
    past.sent += link.session.bytesSent;
    past.received += link.session.bytesReceived;
    this.pastBytes.set(link.peerId, past);
    if (this.links.get(link.peerId) !== link) return;
    this.links.delete(link.peerId);
    this.deps.log.info({ peer: short(link.peerId), reason }, 'disconnected');
    this.dialers.linkDown(link.peerId);
  }

  private syncDialers(): void {
    this.dialers.sync(this.config.peers.filter((p) => p.address !== '' && p.id !== this.id && !this.isRevoked(p.id)));
  }

  /** Revoked here (config.yaml) or by the CA's signed list: refused before any message. */
  private isRevoked(id: string): boolean {
    return this.config.revoked.includes(id) || this.trust.isRevoked(id);
  }

  private liveSession(id: string): PeerSession | undefined {
    const session = this.links.get(id)?.session;
    return session === undefined || session.isClosed ? undefined : session;
  }

  private hello(peer: string): Hello {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      id: this.id,
      name: this.config.name,
      listenPort: this.listener?.port ?? 0,
      intent: 'sync',
      // Only the folders shared with this peer: naming the others would tell it what it is not given.
      folders: foldersSharedWith(this.config, peer).filter((f) => this.folders.has(f.id)).map((f) => helloFolder(this.deps.store, f.id, peer)),
    };
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

/** The supervisor's name for a folder's service. */
function folderService(id: string): string {
  return `folder:${id}`;
}
