/**
 * The sending half of a session: messages in, frames out through the fair
 * scheduler (scheduler.ts), with every queue bounded in bytes, because a
 * peer chooses how fast it reads:
 *
 * - answers to its requests are prepared only while what waits stays under
 *   MAX_ANSWER_BYTES (`admit`), so a peer that asks and never reads does not
 *   have us read its blocks into memory;
 * - index batches wait up to MAX_INDEX_BYTES; the exchange sends more as
 *   they leave (`hasIndexRoom`, `onIndexRoom`);
 * - a pong or a ping waits at most once (`sendOnce`);
 * - anything past MAX_QUEUE_BYTES in all is refused (SendQueueFull), so a
 *   queue this list missed cannot grow without bound either;
 * - `readStall` tells when the peer has taken nothing off the socket for a while.
 */
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Clock } from '../core/clock.js';
import { WizardError } from '../core/errors.js';
import { encodeBody, encodeMessage } from '../protocol/codec.js';
import { FRAME_HEADER_BYTES } from '../protocol/framing.js';
import { encodeResponseFrame } from '../protocol/response-frame.js';
import type { Message } from '../protocol/messages.js';
import { CodecChooser, type CodecStatus, type CompressionMode } from './codec-chooser.js';
import { RateMeter } from './rate-meter.js';
import { FrameScheduler, type Lane } from './scheduler.js';
import type { TokenBucket } from './token-bucket.js';

/** Bytes we let wait (in the scheduler and the socket) before preparing more answers. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** Bytes of index batches we let wait. */
const MAX_INDEX_BYTES = 4 * 1024 * 1024;
/** Everything that may wait for one peer: the bounds above, our own requests, and room to spare. */
export const MAX_QUEUE_BYTES = 32 * 1024 * 1024;

/** What a writer writes to and tells about room. */
export interface MessageWriterDeps {
  readonly socket: Duplex;
  readonly clock: Clock;
  /** `compression` in the config, read for every frame. */
  readonly compression: () => CompressionMode;
  /** The node's upload limit, shared by every session. */
  readonly upload?: TokenBucket;
  /** Index batches may be queued again after `hasIndexRoom` said no. */
  readonly onIndexRoom: () => void;
  /** The peer runs on this machine: see SchedulerDeps.peerOnThisMachine. */
  readonly peerOnThisMachine?: boolean;
}

/** A message refused because MAX_QUEUE_BYTES already wait: the peer is not reading. */
export class SendQueueFull extends WizardError {
  constructor() {
    super('CLOSED', `peer is not reading: more than ${MAX_QUEUE_BYTES / (1024 * 1024)} MiB wait to be sent to it`);
    this.name = 'SendQueueFull';
  }
}

/** Writes one peer's messages; see the file comment. */
export class MessageWriter {
  private readonly scheduler: FrameScheduler;
  private readonly chooser: CodecChooser;
  private readonly rate: RateMeter;
  /** Bytes written around the scheduler: the close frame. */
  private sentDirect = 0;
  private lastAt: number;
  /** Bytes of answers admitted but not yet handed to the socket, and answers waiting for room. */
  private reserved = 0;
  private readonly admissions: Array<{ bytes: number; resolve: () => void }> = [];
  /** An index batch was held back for room; the handler hears when there is some. */
  private indexWaiting = false;
  /** Bytes the peer had taken off the socket when last looked at, and since when it has taken none (see readStall). */
  private drained = 0;
  private drainedAt: number;
  private closed = false;

  constructor(private readonly deps: MessageWriterDeps) {
    const { socket, clock } = deps;
    const now = () => clock.now();
    this.lastAt = this.drainedAt = now();
    this.chooser = new CodecChooser(deps.compression, now);
    this.rate = new RateMeter(now);
    this.scheduler = new FrameScheduler({
      sink: socket,
      clock,
      chooser: this.chooser,
      ...(deps.upload === undefined ? {} : { upload: deps.upload }),
      cpuNow: () => performance.now(),
      peerOnThisMachine: deps.peerOnThisMachine === true,
      onWritten: (bytes) => {
        this.rate.add(bytes);
        this.lastAt = clock.now();
        // Room freed in the scheduler admits waiting answers: a frame written under the upload
        // limit need not fill the socket, so no 'drain' would come to do it.
        this.admitWaiting();
        this.offerIndexRoom();
      },
    });
    socket.on('drain', () => {
      this.scheduler.pump();
      this.admitWaiting();
    });
  }

  /** Bytes of frames written to the peer (compressed size). */
  get bytesSent(): number {
    return this.scheduler.bytesWritten + this.sentDirect;
  }

  /** Bytes of frames not yet taken by the network: waiting in the scheduler or in the socket. */
  get pendingBytes(): number {
    return this.scheduler.queuedBytes + this.deps.socket.writableLength;
  }

  /** When a frame last went to the socket. */
  get lastSentAt(): number {
    return this.lastAt;
  }

  /** Wire bytes per second over the last few seconds. */
  sentPerSecond(): number {
    return this.rate.perSecond();
  }

  /** The compression in use, for status. */
  compression(): CodecStatus {
    return this.chooser.status();
  }

  /** Queues `msg` in `lane` (and `stream`, for bulk). Throws SendQueueFull past MAX_QUEUE_BYTES. */
  send(msg: Message, lane: Lane, stream?: string): void {
    // A block's answer is framed in one copy (response-frame.ts); the scheduler sends that frame as it is unless it compresses the body.
    const framed = msg.type === 'response' ? encodeResponseFrame(msg.id, msg.data) : undefined;
    const body = framed?.subarray(FRAME_HEADER_BYTES) ?? encodeBody(msg);
    if (this.scheduler.queuedBytes + body.length > MAX_QUEUE_BYTES) throw new SendQueueFull();
    this.scheduler.enqueue(lane, body, stream, framed);
  }

  /** Queues `msg` unless one sent with the same `key` still waits (a ping, a pong). */
  sendOnce(key: string, msg: Message): void {
    this.scheduler.enqueueOnce('control', key, encodeBody(msg));
  }

  /** Writes `msg` now, ahead of everything queued, and drops the queue: the last word before closing. */
  writeLast(msg: Message): void {
    this.close();
    const frame = encodeMessage(msg);
    this.sentDirect += frame.length;
    this.deps.socket.write(frame);
  }

  /** Drops whatever waits; later sends are ignored, and waiting answers are let go (to fail on send). */
  close(): void {
    this.closed = true;
    this.scheduler.close();
    this.admitWaiting();
  }

  /**
   * Whether another index batch may be queued now. After a no, `onIndexRoom`
   * is called once the batches waiting have half gone, so an index is sent as
   * fast as the peer takes it, never all at once.
   */
  hasIndexRoom(): boolean {
    if (this.scheduler.laneBytes('index') < MAX_INDEX_BYTES) return true;
    this.indexWaiting = true;
    return false;
  }

  /**
   * Resolves when an answer of `bytes` may be prepared: the bytes waiting in
   * the socket plus those of answers being prepared stay under
   * MAX_ANSWER_BYTES. Call `settle(bytes)` once the answer is queued or dropped.
   */
  admit(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      this.admissions.push({ bytes, resolve });
      this.admitWaiting();
    });
  }

  /** An admitted answer has been queued or dropped: its reservation frees room. */
  settle(bytes: number): void {
    this.reserved -= bytes;
    this.admitWaiting();
  }

  /**
   * Why the peer counts as gone because it reads nothing, if it does: bytes
   * have waited in the socket for `idleTimeoutMs` and it took none of them. A
   * peer that keeps sending but never reads passes every silence check while
   * our answers pile up (bounded, but held for nothing). Frames waiting on our
   * own upload limit are not in the socket, so a slow limit does not count.
   */
  readStall(now: number, idleTimeoutMs: number): string | undefined {
    const waiting = this.deps.socket.writableLength;
    const drained = this.bytesSent - waiting;
    if (waiting === 0 || drained > this.drained) {
      this.drained = drained;
      this.drainedAt = now;
      return undefined;
    }
    return now - this.drainedAt > idleTimeoutMs ? `peer has read nothing for ${idleTimeoutMs} ms` : undefined;
  }

  /** Lets waiting answers go while there is room; 'drain' calls it again as the peer reads. */
  private admitWaiting(): void {
    for (;;) {
      const next = this.admissions[0];
      if (next === undefined) return;
      const queued = this.pendingBytes;
      const room =
        this.closed ||
        queued + this.reserved + next.bytes <= MAX_ANSWER_BYTES ||
        // One answer larger than the whole allowance still goes once nothing else is pending.
        (this.reserved === 0 && queued < MAX_ANSWER_BYTES);
      if (!room) return;
      this.admissions.shift();
      this.reserved += next.bytes;
      next.resolve();
    }
  }

  private offerIndexRoom(): void {
    if (!this.indexWaiting || this.scheduler.laneBytes('index') > MAX_INDEX_BYTES / 2) return;
    this.indexWaiting = false;
    // Not from inside the scheduler's write loop: the handler queues more.
    queueMicrotask(() => {
      if (!this.closed) this.deps.onIndexRoom();
    });
  }
}
