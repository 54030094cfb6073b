/**
 * A conversation with one peer over any byte stream (a TLS socket in the
 * daemon, a pair of PassThroughs in tests). It takes validated messages from
 * its reader (message-reader.ts) one at a time, correlates requests with
 * responses, keeps the link alive with pings, bounds what waits to be sent,
 * and closes on the first protocol violation.
 *
 * Only transport/ knows about TLS; this file takes a Duplex.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError, ProtocolError, WizardError } from '../core/errors.js';
import {
  LIMITS,
  PROTOCOL_VERSION,
  type Hello,
  type IndexMessage,
  type IntroduceMessage,
  type RevocationsMessage,
  type FileAnswer,
  type FileAsk,
  type FilesMessage,
  type FilesRequestMessage,
  type Message,
  type RequestMessage,
  type SumsMessage,
  type SumsRequestMessage,
} from '../protocol/messages.js';
import { truncateChars } from '../protocol/validate.js';
import { FileBatches, isBatchable } from './file-batches.js';
import type { CodecStatus, CompressionMode } from './codec-chooser.js';
import { MessageReader } from './message-reader.js';
import { MessageWriter, SendQueueFull } from './message-writer.js';
import { OutgoingRequests } from './outgoing-requests.js';
import { ServedRequests } from './served-requests.js';
import type { Lane } from './scheduler.js';
import type { TokenBucket } from './token-bucket.js';

/** What a session delivers upward once it is up. The node implements it. */
export interface SessionHandler {
  /** Index entries from the peer (already validated). */
  onIndex(msg: IndexMessage): void;
  /** A block request; resolve with the bytes, or throw an error with a `wireCode` ('not-found' | 'changed' | 'io'). */
  onRequest(msg: RequestMessage): Promise<Buffer>;
  /** A request for many small files; resolve with one answer per file, in order (each bytes or an error code). Without it, the request gets `not-found`. */
  onFilesRequest?(msg: FilesRequestMessage): Promise<FileAnswer[]>;
  /** A block sums request; resolve with the sums, or throw as for `onRequest`. */
  onSumsRequest(msg: SumsRequestMessage): Promise<Omit<SumsMessage, 'type' | 'id'>>;
  /** The session ended; called exactly once. */
  onClose(reason: string): void;
  /** Index batches may be sent again after `hasIndexRoom` said no. */
  onIndexRoom?(): void;
  /** A revocation list or an introduction from the peer (validated in shape only: the node judges it). */
  onTrust?(msg: RevocationsMessage | IntroduceMessage): void;
}

/** Session timing and limits. */
export interface SessionOptions {
  /** Wait this long for the peer's Hello. */
  readonly helloTimeoutMs?: number;
  /** Send a ping after this much silence on our side. */
  readonly pingIntervalMs?: number;
  /** Close after this much silence from the peer, or this long without it reading anything we sent. */
  readonly idleTimeoutMs?: number;
  /** Give up on a request after this long. */
  readonly requestTimeoutMs?: number;
  /** Requests from the peer being answered at once; more is a protocol violation (a well-behaved peer keeps a small window). */
  readonly maxServedRequests?: number;
  /** `compression` in the config, read for every frame. */
  readonly compression?: () => CompressionMode;
  /** The node's bandwidth limits, shared by every session. */
  readonly upload?: TokenBucket;
  readonly download?: TokenBucket;
}

/** What status shows of a live session. */
export interface SessionStats {
  /** Round trip of the last ping, in ms; absent before the first pong. */
  readonly latencyMs?: number;
  /** Wire bytes per second over the last few seconds. */
  readonly sendBytesPerSecond: number;
  readonly receiveBytesPerSecond: number;
  readonly compression: CodecStatus;
}

/** An answer this short to a request at offset 0 is a whole small file: it goes in the small lane. */
const SMALL_ANSWER_BYTES = 256 * 1024;


/** One connection with one peer. */
export class PeerSession {
  /** Hello the peer sent, once the handshake is done. */
  peerHello: Hello | undefined;
  private readonly reader: MessageReader;
  private handler: SessionHandler | undefined;
  private helloWaiter: { resolve: (hello: Hello) => void; reject: (err: Error) => void } | undefined;
  /** Why the peer's Hello was refused, for a `handshake` called after it arrived. */
  private helloRefusal: ProtocolError | undefined;
  /** Our requests and their answers (outgoing-requests.ts). */
  private readonly asks: OutgoingRequests;
  /** Our requests for small files, gathered into files-requests (file-batches.ts). */
  private readonly fileBatches: FileBatches;
  /** The peer's requests we answer (served-requests.ts). */
  private readonly served: ServedRequests;
  private readonly writer: MessageWriter;
  private pingSentAt: number | undefined;
  private lastPingAt: number;
  private latencyMs: number | undefined;
  private cancelTick: (() => void) | undefined;
  private closeReason: string | undefined;
  private resolveClosed!: (reason: string) => void;
  /** Resolves with the reason once the session has ended. */
  readonly closed: Promise<string>;
  private readonly opts: Required<Omit<SessionOptions, 'upload' | 'download'>> & Pick<SessionOptions, 'upload' | 'download'>;

  /** `deps.log` is bound to the peer (`peer` in every line), so no line here adds it again. */
  constructor(
    private readonly deps: { socket: Duplex; clock: Clock; log: Logger },
    readonly peerId: string,
    readonly direction: 'in' | 'out',
    opts: SessionOptions = {},
  ) {
    this.opts = {
      helloTimeoutMs: opts.helloTimeoutMs ?? 10_000,
      pingIntervalMs: opts.pingIntervalMs ?? 30_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 90_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
      maxServedRequests: opts.maxServedRequests ?? 256,
      compression: opts.compression ?? (() => 'auto'),
      upload: opts.upload,
      download: opts.download,
    };
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.asks = new OutgoingRequests({
      clock: deps.clock,
      timeoutMs: this.opts.requestTimeoutMs,
      peer: short(peerId),
      send: (msg) => this.send(msg),
      violation: (reason) => this.close(reason),
    });
    this.fileBatches = new FileBatches({
      one: (ask) => this.requestOne({ ...ask, offset: 0 }),
      many: (folder, files) => this.requestFiles(folder, files),
      violation: (reason) => this.close(reason),
    });
    this.lastPingAt = deps.clock.now();
    const { socket, clock } = deps;
    this.reader = new MessageReader({
      socket,
      clock,
      ...(opts.download === undefined ? {} : { download: opts.download }),
      deliver: (msg) => this.dispatch(msg),
      fail: (reason) => {
        this.deps.log.warn({ err: reason }, 'protocol violation; closing');
        this.close(reason);
      },
    });
    this.writer = new MessageWriter({
      socket,
      clock,
      compression: this.opts.compression,
      ...(opts.upload === undefined ? {} : { upload: opts.upload }),
      onIndexRoom: () => this.handler?.onIndexRoom?.(),
    });
    this.served = new ServedRequests({
      max: this.opts.maxServedRequests,
      writer: this.writer,
      send: (msg, lane, stream) => this.trySend(msg, lane, stream),
      violation: (reason) => this.close(reason),
    });
    socket.on('error', (err) => this.end(`connection error: ${describeError(err)}`, false));
    socket.on('close', () => this.end('connection closed by peer', false));
    socket.on('end', () => this.end('connection closed by peer', false));
    this.scheduleTick();
  }

  /** Bytes of frames written to the peer (compressed size). */
  get bytesSent(): number {
    return this.writer.bytesSent;
  }

  /** Bytes of frames not yet taken by the network: waiting in the scheduler or in the socket. */
  get pendingSendBytes(): number {
    return this.writer.pendingBytes;
  }

  /** Latency, rates and compression, for status. */
  stats(): SessionStats {
    return {
      ...(this.latencyMs === undefined ? {} : { latencyMs: this.latencyMs }),
      sendBytesPerSecond: this.writer.sentPerSecond(),
      receiveBytesPerSecond: this.reader.receivedPerSecond(),
      compression: this.writer.compression(),
    };
  }

  /** Bytes of frames read from the peer. */
  get bytesReceived(): number {
    return this.reader.bytesReceived;
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /**
   * Sends our Hello and waits for the peer's. The peer's must speak our
   * protocol version and claim the ID its certificate proves (checked as it
   * arrives, see dispatch). Rejects (and closes) otherwise.
   */
  async handshake(local: Hello): Promise<Hello> {
    if (this.closeReason === undefined) this.send(local);
    const hello = await this.receiveHello();
    // A first round trip, so status has a latency from the start.
    this.ping();
    return hello;
  }

  /**
   * Waits for the peer's Hello without sending ours: an accepting node
   * answers according to what the dialer asked (pair or sync, and which
   * folders), and the dialer always speaks first. Call `handshake` with the
   * answer next. Rejects (and closes) as `handshake` does.
   */
  async receiveHello(): Promise<Hello> {
    let cancelTimer = () => {};
    const got = new Promise<Hello>((resolve, reject) => {
      this.helloWaiter = { resolve, reject };
      if (this.helloRefusal !== undefined) reject(this.helloRefusal);
      if (this.peerHello !== undefined) resolve(this.peerHello);
      cancelTimer = this.deps.clock.setTimer(this.opts.helloTimeoutMs, () =>
        reject(new WizardError('TIMEOUT', `peer ${short(this.peerId)} sent no hello within ${this.opts.helloTimeoutMs} ms`)),
      );
      void this.closed.then((reason) => reject(new WizardError('CLOSED', `connection closed during handshake: ${reason}`)));
    });
    try {
      return await got.finally(() => cancelTimer());
    } catch (err) {
      this.close(describeError(err));
      throw err;
    }
  }

  /** Starts delivering messages to `handler`. */
  attach(handler: SessionHandler): void {
    this.handler = handler;
    if (this.closeReason !== undefined) {
      handler.onClose(this.closeReason);
      return;
    }
    // Messages after the Hello waited in the socket until now (see dispatch).
    this.reader.release();
  }

  /**
   * Queues one message for the peer: `lane` and `stream` place it in the fair
   * order (scheduler.ts); by default, by its type. Throws CLOSED after the
   * session ended, or when so much waits for the peer that it has plainly
   * stopped reading (the session then closes).
   */
  send(msg: Message, lane: Lane = laneOf(msg), stream?: string): void {
    if (this.closeReason !== undefined) throw new WizardError('CLOSED', `session with ${short(this.peerId)} is closed`);
    try {
      this.writer.send(msg, lane, stream);
    } catch (err) {
      if (err instanceof SendQueueFull) this.close(err.message);
      throw err;
    }
  }

  /**
   * Whether another index batch may be queued now. After a no, the handler's
   * `onIndexRoom` is called once there is room again.
   */
  hasIndexRoom(): boolean {
    return this.writer.hasIndexRoom();
  }

  /** Asks the peer for a block of a file; a small file's first bytes go in a batch with others asked now (file-batches.ts). */
  request(req: Omit<RequestMessage, 'type' | 'id'>): Promise<Buffer> {
    if (isBatchable(req)) return this.fileBatches.ask({ folder: req.folder, path: req.path, hash: req.hash, length: req.length });
    return this.requestOne(req);
  }

  private async requestOne(req: Omit<RequestMessage, 'type' | 'id'>): Promise<Buffer> {
    const msg = await this.asks.ask('response', req.path, (id) => ({ type: 'request', id, ...req }));
    if (msg.type !== 'response') throw new WizardError('INTERNAL', 'answer of the wrong type slipped through');
    return Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  }

  private async requestFiles(folder: string, files: readonly FileAsk[]): Promise<FilesMessage> {
    const msg = await this.asks.ask('files', `${files.length} files`, (id) => ({ type: 'files-request', id, folder, files }));
    if (msg.type !== 'files') throw new WizardError('INTERNAL', 'answer of the wrong type slipped through');
    return msg;
  }

  /** Asks the peer for block sums of a file. */
  async requestSums(req: Omit<SumsRequestMessage, 'type' | 'id'>): Promise<SumsMessage> {
    const msg = await this.asks.ask('sums', req.path, (id) => ({ type: 'sums-request', id, ...req }));
    if (msg.type !== 'sums') throw new WizardError('INTERNAL', 'answer of the wrong type slipped through');
    return msg;
  }

  /** Closes the session, telling the peer why. */
  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    try {
      // Past whatever still waits to be sent: nothing after it matters any more.
      this.writer.writeLast({ type: 'close', reason: truncateChars(reason, LIMITS.maxMessageChars) });
    } catch {
      // Already unwritable: nothing to tell.
    }
    this.end(reason, true);
  }

  private end(reason: string, ours: boolean): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.cancelTick?.();
    this.reader.stop();
    this.writer.close();
    this.asks.fail(new WizardError('CLOSED', `connection to ${short(this.peerId)} closed: ${reason}`));
    if (ours) this.deps.socket.end();
    // Give a polite close a moment to flush, then make sure the socket is gone.
    this.deps.clock.setTimer(ours ? 1000 : 0, () => this.deps.socket.destroy());
    this.deps.log.info({ reason }, 'session closed');
    this.handler?.onClose(reason);
    this.resolveClosed(reason);
  }

  private dispatch(msg: Message): void {
    switch (msg.type) {
      case 'hello':
        // Only ever the first message: the reader refuses anything else first, and a second hello.
        this.acceptHello(msg);
        return;
      case 'ping':
        // One pong waiting is enough, however many pings a peer that does not read sends.
        this.writer.sendOnce('pong', { type: 'pong' });
        return;
      case 'pong':
        if (this.pingSentAt !== undefined) this.latencyMs = this.deps.clock.now() - this.pingSentAt;
        this.pingSentAt = undefined;
        return;
      case 'close':
        this.end(`peer closed: ${msg.reason}`, false);
        return;
      case 'response':
      case 'sums':
      case 'files':
      case 'error':
        this.asks.answer(msg);
        return;
      case 'revocations':
      case 'introduce':
        this.handler?.onTrust?.(msg);
        return;
      case 'enrol-offer':
      case 'enrol-request':
      case 'enrol-grant':
        // SESSION_RULES refuse these before decoding; one here is a bug, not the peer's doing.
        this.close(`protocol error: ${msg.type} in a sync session`);
        return;
      case 'index':
      case 'request':
      case 'files-request':
      case 'sums-request':
        // The reader holds these back until attach (acceptHello); one here anyway is a bug, not the peer's doing.
        if (this.handler === undefined) {
          this.deps.log.error({ type: msg.type }, 'message delivered before the session was attached');
          this.close(`internal error: ${msg.type} before the session was ready`);
          return;
        }
        if (msg.type === 'index') this.handler.onIndex(msg);
        else if (msg.type === 'request') {
          const small = msg.offset === 0 && msg.length < SMALL_ANSWER_BYTES;
          const stream = `${msg.folder}/${msg.path}`;
          const handler = this.handler;
          this.served.serve(msg.id, msg.length, () => handler.onRequest(msg).then((data) => ({ type: 'response', id: msg.id, data })), small ? 'small' : 'bulk', stream);
        }
        else if (msg.type === 'files-request') this.serveFiles(this.handler, msg);
        // A sums answer is 20 bytes per block at most (4 weak + 16 strong).
        else {
          const handler = this.handler;
          this.served.serve(msg.id, msg.count * 20, () => handler.onSumsRequest(msg).then((sums) => ({ type: 'sums', id: msg.id, ...sums })), 'small');
        }
        return;
    }
  }

  /**
   * Checks the peer's Hello as it arrives, so that the frames after it are
   * read under the rules it earns (message-reader.ts) only once it is good:
   * our protocol version, and the ID its certificate proves.
   */
  private acceptHello(hello: Hello): void {
    let problem: string | undefined;
    if (hello.protocol !== PROTOCOL_VERSION) {
      problem = `peer speaks protocol ${hello.protocol}, we speak ${PROTOCOL_VERSION}: update Wizard on both machines`;
    } else if (hello.id !== this.peerId) {
      problem = `peer claims ID ${short(hello.id)} but its certificate is ${short(this.peerId)}`;
    }
    if (problem !== undefined) {
      this.helloRefusal = new ProtocolError(problem);
      this.helloWaiter?.reject(this.helloRefusal);
      this.close(problem);
      return;
    }
    this.peerHello = hello;
    this.reader.open();
    // Whatever follows waits in the socket until a handler is attached (the link is registered).
    if (this.handler === undefined) this.reader.hold();
    this.helloWaiter?.resolve(hello);
  }

  /** Answers a files-request in the small lane: small files are what must never wait behind a big one. */
  private serveFiles(handler: SessionHandler, msg: FilesRequestMessage): void {
    const bytes = msg.files.reduce((sum, f) => sum + f.length, 0);
    this.served.serve(msg.id, bytes, async () => {
      if (handler.onFilesRequest === undefined) throw Object.assign(new Error('files-request not served here'), { wireCode: 'not-found' });
      return { type: 'files', id: msg.id, files: await handler.onFilesRequest(msg) };
    }, 'small');
  }

  private trySend(msg: Message, lane?: Lane, stream?: string): void {
    if (this.closeReason !== undefined) return;
    try {
      this.send(msg, lane, stream);
    } catch (err) {
      this.deps.log.debug({ err: describeError(err) }, 'could not send');
    }
  }

  private scheduleTick(): void {
    const every = Math.min(this.opts.pingIntervalMs, this.opts.idleTimeoutMs) / 3;
    this.cancelTick = this.deps.clock.setTimer(every, () => {
      const now = this.deps.clock.now();
      const gone = this.reader.silence(now, this.opts.idleTimeoutMs) ?? this.writer.readStall(now, this.opts.idleTimeoutMs);
      if (gone !== undefined) {
        this.close(gone);
        return;
      }
      if (now - this.lastPingAt >= this.opts.pingIntervalMs || now - this.writer.lastSentAt >= this.opts.pingIntervalMs) this.ping();
      this.scheduleTick();
    });
  }

  /** Sends a ping and times its pong (one at a time: a ping unanswered keeps its start time). */
  private ping(): void {
    const now = this.deps.clock.now();
    this.lastPingAt = now;
    this.pingSentAt ??= now;
    if (this.closeReason === undefined) this.writer.sendOnce('ping', { type: 'ping' });
  }
}

/** The lane a message goes in unless the sender says otherwise. */
function laneOf(msg: Message): Lane {
  if (msg.type === 'index') return 'index';
  if (msg.type === 'response') return 'bulk';
  if (msg.type === 'sums' || msg.type === 'files') return 'small';
  return 'control';
}

/** First 8 hex digits of an ID, for logs. */
export function short(id: string): string {
  return id.slice(0, 8);
}
