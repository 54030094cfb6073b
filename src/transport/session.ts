/**
 * A conversation with one peer over any byte stream (a TLS socket in the
 * daemon, a pair of PassThroughs in tests). It frames, decodes and validates
 * every message, correlates requests with responses, keeps the link alive
 * with pings, and closes on the first protocol violation.
 *
 * Only transport/ knows about TLS; this file takes a Duplex.
 */
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { describeError, ProtocolError, WizardError } from '../core/errors.js';
import { decodeMessage, encodeBody, encodeMessage } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/framing.js';
import {
  PROTOCOL_VERSION,
  type Hello,
  type IndexMessage,
  type Message,
  type RequestMessage,
  type ResponseMessage,
  type SumsMessage,
  type SumsRequestMessage,
} from '../protocol/messages.js';
import { CodecChooser, type CodecStatus, type CompressionMode } from './codec-chooser.js';
import { RateMeter } from './rate-meter.js';
import { FrameScheduler, type Lane } from './scheduler.js';
import type { TokenBucket } from './token-bucket.js';

/** What a session delivers upward once it is up. The node implements it. */
export interface SessionHandler {
  /** Index entries from the peer (already validated). */
  onIndex(msg: IndexMessage): void;
  /** A block request; resolve with the bytes, or throw an error with a `wireCode` ('not-found' | 'changed' | 'io'). */
  onRequest(msg: RequestMessage): Promise<Buffer>;
  /** A block sums request; resolve with the sums, or throw as for `onRequest`. */
  onSumsRequest(msg: SumsRequestMessage): Promise<Omit<SumsMessage, 'type' | 'id'>>;
  /** The session ended; called exactly once. */
  onClose(reason: string): void;
}

/** Session timing and limits. */
export interface SessionOptions {
  /** Wait this long for the peer's Hello. */
  readonly helloTimeoutMs?: number;
  /** Send a ping after this much silence on our side. */
  readonly pingIntervalMs?: number;
  /** Close after this much silence from the peer. */
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

/** Bytes we let wait (in the scheduler and the socket) before answering more block requests. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** An answer this short to a request at offset 0 is a whole small file: it goes in the small lane. */
const SMALL_ANSWER_BYTES = 256 * 1024;

type Answer = ResponseMessage | SumsMessage;
type Pending = { expects: Answer['type']; resolve: (msg: Answer) => void; reject: (err: Error) => void; cancelTimer: () => void };

/** Least a peer must send per idle-timeout window in which no frame completes (see scheduleTick). */
const MIN_WINDOW_BYTES = 16 * 1024;

/** One connection with one peer. */
export class PeerSession {
  /** Hello the peer sent, once the handshake is done. */
  peerHello: Hello | undefined;
  private readonly decoder = new FrameDecoder();
  private handler: SessionHandler | undefined;
  private readonly early: Message[] = [];
  private helloWaiter: ((hello: Hello) => void) | undefined;
  /** The peer's Hello as received, possibly before `handshake` was called. */
  private receivedHello: Hello | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  private served = 0;
  /** Bytes of answers admitted but not yet handed to the socket, and answers waiting for room. */
  private reserved = 0;
  private readonly admissions: Array<{ bytes: number; resolve: () => void }> = [];
  /** Bytes written around the scheduler: the close frame. */
  private sentDirect = 0;
  private received = 0;
  private lastSentAt: number;
  private lastReceivedAt: number;
  /** Start of the current window without a whole frame, and `received` then (see scheduleTick). */
  private frameWindowAt: number;
  private frameWindowBytes = 0;
  private readonly scheduler: FrameScheduler;
  private readonly chooser: CodecChooser;
  private readonly sendRate: RateMeter;
  private readonly receiveRate: RateMeter;
  private pingSentAt: number | undefined;
  private lastPingAt: number;
  private latencyMs: number | undefined;
  private cancelResume: (() => void) | undefined;
  private cancelTick: (() => void) | undefined;
  private closeReason: string | undefined;
  private resolveClosed!: (reason: string) => void;
  /** Resolves with the reason once the session has ended. */
  readonly closed: Promise<string>;
  private readonly opts: Required<Omit<SessionOptions, 'upload' | 'download'>> & Pick<SessionOptions, 'upload' | 'download'>;

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
    this.lastSentAt = this.lastReceivedAt = this.lastPingAt = this.frameWindowAt = deps.clock.now();
    const { socket, clock } = deps;
    const now = () => clock.now();
    this.chooser = new CodecChooser(this.opts.compression, now);
    this.sendRate = new RateMeter(now);
    this.receiveRate = new RateMeter(now);
    this.scheduler = new FrameScheduler({
      sink: socket,
      clock,
      chooser: this.chooser,
      ...(opts.upload === undefined ? {} : { upload: opts.upload }),
      cpuNow: () => performance.now(),
      onWritten: (bytes) => {
        this.sendRate.add(bytes);
        this.lastSentAt = clock.now();
        // Room freed in the scheduler admits waiting answers: a frame written under the upload
        // limit need not fill the socket, so no 'drain' would come to do it.
        this.pump();
      },
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.scheduler.pump();
      this.pump();
    });
    socket.on('error', (err) => this.end(`connection error: ${describeError(err)}`, false));
    socket.on('close', () => this.end('connection closed by peer', false));
    socket.on('end', () => this.end('connection closed by peer', false));
    this.scheduleTick();
  }

  /** Bytes of frames written to the peer (compressed size). */
  get bytesSent(): number {
    return this.scheduler.bytesWritten + this.sentDirect;
  }

  /** Bytes of frames not yet taken by the network: waiting in the scheduler or in the socket. */
  get pendingSendBytes(): number {
    return this.scheduler.queuedBytes + this.deps.socket.writableLength;
  }

  /** Latency, rates and compression, for status. */
  stats(): SessionStats {
    return {
      ...(this.latencyMs === undefined ? {} : { latencyMs: this.latencyMs }),
      sendBytesPerSecond: this.sendRate.perSecond(),
      receiveBytesPerSecond: this.receiveRate.perSecond(),
      compression: this.chooser.status(),
    };
  }

  /** Bytes of frames read from the peer. */
  get bytesReceived(): number {
    return this.received;
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  /**
   * Sends our Hello and waits for the peer's. The peer's must speak our
   * protocol version and claim the ID its certificate proves. Rejects (and
   * closes) otherwise.
   */
  async handshake(local: Hello): Promise<Hello> {
    let cancelTimer = () => {};
    const got = new Promise<Hello>((resolve, reject) => {
      if (this.receivedHello !== undefined) resolve(this.receivedHello);
      this.helloWaiter = resolve;
      cancelTimer = this.deps.clock.setTimer(this.opts.helloTimeoutMs, () =>
        reject(new WizardError('TIMEOUT', `peer ${short(this.peerId)} sent no hello within ${this.opts.helloTimeoutMs} ms`)),
      );
      void this.closed.then((reason) => reject(new WizardError('CLOSED', `connection closed during handshake: ${reason}`)));
    });
    this.send(local);
    try {
      const hello = await got.finally(() => cancelTimer());
      if (hello.protocol !== PROTOCOL_VERSION) {
        throw new ProtocolError(`peer speaks protocol ${hello.protocol}, we speak ${PROTOCOL_VERSION}: update Wizard on both machines`);
      }
      if (hello.id !== this.peerId) {
        throw new ProtocolError(`peer claims ID ${short(hello.id)} but its certificate is ${short(this.peerId)}`);
      }
      this.peerHello = hello;
      // A first round trip, so status has a latency from the start.
      this.ping();
      return hello;
    } catch (err) {
      this.close(describeError(err));
      throw err;
    }
  }

  /** Starts delivering messages to `handler` (those that arrived early first). */
  attach(handler: SessionHandler): void {
    this.handler = handler;
    if (this.closeReason !== undefined) {
      handler.onClose(this.closeReason);
      return;
    }
    for (const msg of this.early.splice(0)) this.dispatch(msg);
  }

  /**
   * Queues one message for the peer: `lane` and `stream` place it in the fair
   * order (scheduler.ts); by default, by its type. Throws CLOSED after the session ended.
   */
  send(msg: Message, lane: Lane = laneOf(msg), stream?: string): void {
    if (this.closeReason !== undefined) throw new WizardError('CLOSED', `session with ${short(this.peerId)} is closed`);
    this.scheduler.enqueue(lane, encodeBody(msg), stream);
  }

  /** Asks the peer for a block of a file. */
  async request(req: Omit<RequestMessage, 'type' | 'id'>): Promise<Buffer> {
    const msg = await this.ask('response', req.path, (id) => ({ type: 'request', id, ...req }));
    if (msg.type !== 'response') throw new WizardError('INTERNAL', 'answer of the wrong type slipped through');
    return Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  }

  /** Asks the peer for block sums of a file. */
  async requestSums(req: Omit<SumsRequestMessage, 'type' | 'id'>): Promise<SumsMessage> {
    const msg = await this.ask('sums', req.path, (id) => ({ type: 'sums-request', id, ...req }));
    if (msg.type !== 'sums') throw new WizardError('INTERNAL', 'answer of the wrong type slipped through');
    return msg;
  }

  private ask(expects: Answer['type'], what: string, build: (id: number) => Message): Promise<Answer> {
    const id = this.nextRequestId++;
    return new Promise<Answer>((resolve, reject) => {
      const cancelTimer = this.deps.clock.setTimer(this.opts.requestTimeoutMs, () => {
        this.pending.delete(id);
        reject(new WizardError('TIMEOUT', `peer ${short(this.peerId)} did not answer a request for ${what} in time`));
      });
      this.pending.set(id, { expects, resolve, reject, cancelTimer });
      try {
        this.send(build(id));
      } catch (err) {
        this.pending.delete(id);
        cancelTimer();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Closes the session, telling the peer why. */
  close(reason: string): void {
    if (this.closeReason !== undefined) return;
    // Past whatever still waits in the scheduler: nothing after it matters any more.
    this.scheduler.close();
    try {
      const frame = encodeMessage({ type: 'close', reason });
      this.sentDirect += frame.length;
      this.deps.socket.write(frame);
    } catch {
      // Already unwritable: nothing to tell.
    }
    this.end(reason, true);
  }

  private end(reason: string, ours: boolean): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.cancelTick?.();
    this.cancelResume?.();
    this.scheduler.close();
    this.pump();
    for (const [id, p] of this.pending) {
      p.cancelTimer();
      p.reject(new WizardError('CLOSED', `connection to ${short(this.peerId)} closed: ${reason}`));
      this.pending.delete(id);
    }
    if (ours) this.deps.socket.end();
    // Give a polite close a moment to flush, then make sure the socket is gone.
    this.deps.clock.setTimer(ours ? 1000 : 0, () => this.deps.socket.destroy());
    this.deps.log.info({ peer: short(this.peerId), reason }, 'session closed');
    this.handler?.onClose(reason);
    this.resolveClosed(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closeReason !== undefined) return;
    this.received += chunk.length;
    this.receiveRate.add(chunk.length);
    this.lastReceivedAt = this.deps.clock.now();
    this.throttleDownload(chunk.length);
    let msgs: Message[];
    try {
      msgs = this.decoder.push(chunk).map((body) => decodeMessage(body));
      if (msgs.length > 0) {
        this.frameWindowAt = this.lastReceivedAt;
        this.frameWindowBytes = this.received;
      }
    } catch (err) {
      this.deps.log.warn({ peer: short(this.peerId), err: describeError(err) }, 'protocol violation; closing');
      this.close(`protocol error: ${describeError(err)}`);
      return;
    }
    for (const msg of msgs) {
      if (this.closeReason !== undefined) return;
      if (this.receivedHello === undefined && msg.type !== 'hello' && msg.type !== 'close') {
        this.close('protocol error: first message was not hello');
        return;
      }
      this.dispatch(msg);
    }
  }

  private dispatch(msg: Message): void {
    switch (msg.type) {
      case 'hello':
        if (this.receivedHello !== undefined) {
          this.close('protocol error: second hello');
          return;
        }
        this.receivedHello = msg;
        this.helloWaiter?.(msg);
        return;
      case 'ping':
        this.send({ type: 'pong' });
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
      case 'error': {
        const p = this.pending.get(msg.id);
        // An answer to a request that timed out is late, not hostile.
        if (p === undefined) return;
        if (msg.type !== 'error' && msg.type !== p.expects) {
          this.close(`protocol error: ${msg.type} answers a request that wanted ${p.expects}`);
          return;
        }
        this.pending.delete(msg.id);
        p.cancelTimer();
        if (msg.type !== 'error') p.resolve(msg);
        else p.reject(new WizardError(msg.code === 'io' ? 'INTERNAL' : 'CHANGED', `peer ${short(this.peerId)}: ${msg.message}`));
        return;
      }
      case 'index':
      case 'request':
      case 'sums-request':
        if (this.handler === undefined) {
          this.early.push(msg);
          return;
        }
        if (msg.type === 'index') this.handler.onIndex(msg);
        else if (msg.type === 'request') {
          const small = msg.offset === 0 && msg.length < SMALL_ANSWER_BYTES;
          const stream = `${msg.folder}/${msg.path}`;
          this.serve(this.handler, msg.id, msg.length, (h) => h.onRequest(msg).then((data) => ({ type: 'response', id: msg.id, data })), small ? 'small' : 'bulk', stream);
        }
        // A sums answer is 20 bytes per block at most (4 weak + 16 strong).
        else this.serve(this.handler, msg.id, msg.count * 20, (h) => h.onSumsRequest(msg).then((sums) => ({ type: 'sums', id: msg.id, ...sums })), 'small');
        return;
    }
  }

  private serve(
    handler: SessionHandler,
    id: number,
    bytes: number,
    answer: (h: SessionHandler) => Promise<Message>,
    lane: Lane,
    stream?: string,
  ): void {
    if (this.served >= this.opts.maxServedRequests) {
      this.close(`protocol error: more than ${this.opts.maxServedRequests} requests in flight`);
      return;
    }
    this.served++;
    this.admit(bytes)
      .then(() => answer(handler))
      .then(
        (msg) => this.trySend(msg, lane, stream),
        (err: unknown) => {
          const wireCode = (err as { wireCode?: 'not-found' | 'changed' | 'io' }).wireCode ?? 'io';
          this.trySend({ type: 'error', id, code: wireCode, message: describeError(err) });
        },
      )
      .finally(() => {
        this.served--;
        this.reserved -= bytes;
        this.pump();
      });
  }

  /**
   * Resolves when an answer of `bytes` may be prepared: the bytes waiting in
   * the socket plus those of answers being prepared stay under
   * MAX_QUEUED_BYTES. A peer that asks for blocks but does not read the
   * answers would otherwise have us read and buffer every block it asked for.
   */
  private admit(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      this.admissions.push({ bytes, resolve });
      this.pump();
    });
  }

  /** Lets waiting answers go while there is room; 'drain' calls it again as the peer reads. */
  private pump(): void {
    for (;;) {
      const next = this.admissions[0];
      if (next === undefined) return;
      const queued = this.pendingSendBytes;
      const room =
        this.closeReason !== undefined ||
        queued + this.reserved + next.bytes <= MAX_QUEUED_BYTES ||
        // One answer larger than the whole allowance still goes once nothing else is pending.
        (this.reserved === 0 && queued < MAX_QUEUED_BYTES);
      if (!room) return;
      this.admissions.shift();
      this.reserved += next.bytes;
      next.resolve();
    }
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
      if (now - this.lastReceivedAt > this.opts.idleTimeoutMs) {
        this.close(`no traffic from peer for ${this.opts.idleTimeoutMs} ms`);
        return;
      }
      // Bytes that never add up to a frame (a header, then a byte a second: THREATS F1) keep the
      // check above happy forever while a frame buffer is held. A window of the idle timeout with
      // no whole frame must at least carry MIN_WINDOW_BYTES: a slow but real link (1 KiB/s under a
      // bandwidth limit, a 256 KiB block taking minutes) does; a trickle does not.
      if (now - this.frameWindowAt > this.opts.idleTimeoutMs) {
        const got = this.received - this.frameWindowBytes;
        if (got < MIN_WINDOW_BYTES) {
          this.close(`peer sends too slowly: ${got} bytes and no whole frame in ${this.opts.idleTimeoutMs} ms`);
          return;
        }
        this.frameWindowAt = now;
        this.frameWindowBytes = this.received;
      }
      if (now - this.lastPingAt >= this.opts.pingIntervalMs || now - this.lastSentAt >= this.opts.pingIntervalMs) this.ping();
      this.scheduleTick();
    });
  }

  /** Sends a ping and times its pong (one at a time: a ping unanswered keeps its start time). */
  private ping(): void {
    const now = this.deps.clock.now();
    this.lastPingAt = now;
    this.pingSentAt ??= now;
    this.trySend({ type: 'ping' });
  }

  /**
   * Pays for `bytes` read from the peer out of the download limit; when it
   * runs dry, stops reading until the debt is paid, so TCP slows the sender.
   */
  private throttleDownload(bytes: number): void {
    const bucket = this.opts.download;
    if (bucket === undefined) return;
    bucket.take(bytes);
    const waitMs = bucket.waitMs();
    if (waitMs === 0 || this.cancelResume !== undefined) return;
    this.deps.socket.pause();
    this.cancelResume = this.deps.clock.setTimer(waitMs, () => {
      this.cancelResume = undefined;
      if (this.closeReason === undefined) this.deps.socket.resume();
      // The limit may have been lowered meanwhile: pay again for nothing, which re-checks.
      this.throttleDownload(0);
    });
  }
}

/** The lane a message goes in unless the sender says otherwise. */
function laneOf(msg: Message): Lane {
  if (msg.type === 'index') return 'index';
  if (msg.type === 'response') return 'bulk';
  if (msg.type === 'sums') return 'small';
  return 'control';
}

/** First 8 hex digits of an ID, for logs. */
export function short(id: string): string {
  return id.slice(0, 8);
}
