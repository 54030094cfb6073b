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
import { describeError, WizardError } from '../core/errors.js';
import {
  LIMITS,
  type Hello,
  type FileAsk,
  type FilesMessage,
  type FilesRequestMessage,
  type Message,
  type RequestMessage,
  type SumsMessage,
  type SumsRequestMessage,
} from '../protocol/messages.js';
import { truncateChars } from '../protocol/fields.js';
import { isThisMachine } from './address.js';
import { FileBatches, isBatchable } from './file-batches.js';
import { MessageReader } from './message-reader.js';
import { MessageWriter, SendQueueFull } from './message-writer.js';
import { HelloExchange } from './hello-exchange.js';
import { Keepalive } from './keepalive.js';
import { OutgoingRequests } from './outgoing-requests.js';
import { ServedRequests } from './served-requests.js';
import type { Lane } from './scheduler.js';

import type { SessionHandler, SessionOptions, SessionStats } from './session-contract.js';

export type { SessionHandler, SessionOptions, SessionStats } from './session-contract.js';

/** An answer this short to a request at offset 0 is a whole small file: it goes in the small lane. */
const SMALL_ANSWER_BYTES = 256 * 1024;

/** One connection with one peer. */
export class PeerSession {
  private readonly reader: MessageReader;
  private handler: SessionHandler | undefined;
  /** The peer's Hello, checked as it arrives (hello-exchange.ts). */
  private readonly hellos: HelloExchange;
  /** Our requests and their answers (outgoing-requests.ts). */
  private readonly asks: OutgoingRequests;
  /** Our requests for small files, gathered into files-requests (file-batches.ts). */
  private readonly fileBatches: FileBatches;
  /** The peer's requests we answer (served-requests.ts). */
  private readonly served: ServedRequests;
  private readonly writer: MessageWriter;
  /** Pings, their round trips, and the end of a silent link (keepalive.ts). */
  private readonly keepalive: Keepalive;
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
    this.hellos = new HelloExchange({
      clock: deps.clock,
      timeoutMs: this.opts.helloTimeoutMs,
      peerId,
      closed: this.closed,
      close: (reason) => this.close(reason),
      accepted: () => {
        this.reader.open();
        // Whatever follows waits in the socket until a handler is attached (the link is registered).
        if (this.handler === undefined) this.reader.hold();
      },
    });
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
      peerOnThisMachine: isThisMachine((socket as { remoteAddress?: string }).remoteAddress),
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
    this.keepalive = new Keepalive({
      clock,
      pingIntervalMs: this.opts.pingIntervalMs,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      deadBecause: (now, idleMs) => this.reader.silence(now, idleMs) ?? this.writer.readStall(now, idleMs),
      lastSentAt: () => this.writer.lastSentAt,
      sendPing: () => {
        if (this.closeReason === undefined) this.writer.sendOnce('ping', { type: 'ping' });
      },
      close: (reason) => this.close(reason),
    });
    this.keepalive.start();
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
      ...(this.keepalive.latencyMs === undefined ? {} : { latencyMs: this.keepalive.latencyMs }),
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
    this.keepalive.ping();
    return hello;
  }

  /**
   * Waits for the peer's Hello without sending ours: an accepting node
   * answers according to what the dialer asked (pair or sync, and which
   * folders), and the dialer always speaks first. Call `handshake` with the
   * answer next. Rejects (and closes) as `handshake` does.
   */
  async receiveHello(): Promise<Hello> {
    return this.hellos.receive();
  }

  /** Hello the peer sent, once the handshake is done. */
  get peerHello(): Hello | undefined {
    return this.hellos.peerHello;
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
    this.keepalive.stop();
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
        this.hellos.arrived(msg);
        return;
      case 'ping':
        // One pong waiting is enough, however many pings a peer that does not read sends.
        this.writer.sendOnce('pong', { type: 'pong' });
        return;
      case 'pong':
        this.keepalive.pong();
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
        // The reader holds these back until attach (HelloExchange.arrived); one here anyway is a bug, not the peer's doing.
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
