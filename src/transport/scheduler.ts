/**
 * Writes one peer's outgoing frames in a fair order, so a large transfer
 * never holds back anything else on the shared TLS connection:
 *
 * 1. control: hello, ping/pong, requests, errors — tiny and latency-bound;
 * 2. index: what changed, so the peer can start asking;
 * 3. small: answers for whole small files and block sums — a new 4 KiB file
 *    gets past a 1 GiB transfer after at most the bytes already in the socket;
 * 4. bulk: blocks of large files, round-robin per file, so several large
 *    transfers share the link evenly.
 *
 * Small answers go before bulk, but every SMALL_RUN of them in a row lets
 * one bulk frame through, so a flood of small files cannot starve a big one.
 *
 * Frames wait here, not in the socket: the socket holds at most HIGH_WATER
 * bytes, so whatever arrives next is at most that far from the wire. Each
 * frame is compressed when it leaves (codec-chooser.ts decides how), and the
 * upload limit is paid for in wire bytes. While frames wait on the socket or
 * the limit, the scheduler tells the chooser how fast the link drains: that is
 * what "network-bound" means to it.
 */
import type { Clock } from '../core/clock.js';
import { CODEC_IDS, compressBody } from '../protocol/compression.js';
import { encodeCompressedFrame, encodeFrame } from '../protocol/framing.js';
import { WORTH_RATIO, type CodecChooser } from './codec-chooser.js';
import { blockBodies } from '../protocol/block-bodies.js';
import type { TokenBucket } from './token-bucket.js';

/** Where a frame waits; see the file comment for the order. */
export type Lane = 'control' | 'index' | 'small' | 'bulk';

/** Where frames go: a socket, or a test's recorder. */
export interface FrameSink {
  /** Bytes written but not yet taken by the network. */
  readonly writableLength: number;
  /** `written`, when given, is called once the sink no longer reads `frame` (a socket's write callback). */
  write(frame: Buffer, written?: () => void): unknown;
  /** Holds writes back until `uncork` so they leave together (a socket has both). */
  cork?(): void;
  uncork?(): void;
}

/** Bytes the socket may hold before the scheduler waits for 'drain'. */
export const HIGH_WATER = 256 * 1024;
/** Small answers in a row before a waiting bulk frame gets its turn. */
export const SMALL_RUN = 4;
/** Bodies shorter than this are sent as they are: compressing them saves nothing. */
const MIN_COMPRESS_BYTES = 512;
/** A drain measured over less than this is too noisy to tell the link's pace. */
const MIN_MEASURE_MS = 5;

interface Queued {
  readonly body: Buffer;
  /** The raw frame of `body` when the sender built it already (response-frame.ts): sent as it is unless compressed. */
  readonly framed?: Buffer;
  readonly stream: string | undefined;
  /** Set for a frame of which at most one may wait (enqueueOnce). */
  readonly key?: string;
}

export interface SchedulerDeps {
  readonly sink: FrameSink;
  readonly clock: Pick<Clock, 'now' | 'setTimer'>;
  readonly chooser: CodecChooser;
  /** The node's upload limit, shared by every peer; undefined for none. */
  readonly upload?: TokenBucket;
  /** A fine-grained clock for timing the compressor (performance.now). */
  readonly cpuNow: () => number;
  /** Called with each frame's size as it goes to the socket. */
  readonly onWritten?: (frameBytes: number) => void;
  /** Where a prebuilt frame (a block's answer) goes once nothing reads it; blockBodies by default, which takes back only what it lent. */
  readonly frameDone?: (frame: Buffer) => void;
  /**
   * The peer runs on this machine (isThisMachine). Its socket then drains as
   * fast as its process reads, and a slow drain is that process short of the
   * CPU we share, which compressing would take more of: only the upload
   * limit's waits tell the chooser that the link is the bottleneck.
   */
  readonly peerOnThisMachine?: boolean;
}

export class FrameScheduler {
  private readonly control: Queued[] = [];
  private readonly index: Queued[] = [];
  private readonly small: Queued[] = [];
  /** Bulk frames per stream; iteration order is the round-robin order. */
  private readonly bulk = new Map<string, Queued[]>();
  private smallRun = 0;
  private queued = 0;
  /** Body bytes waiting per lane. */
  private readonly laneQueued: Record<Lane, number> = { control: 0, index: 0, small: 0, bulk: 0 };
  /** Keys of the enqueueOnce frames waiting. */
  private readonly keys = new Set<string>();
  private written = 0;
  private cancelWait: (() => void) | undefined;
  /** Since when frames have waited on the socket, and how much had drained then. */
  private blocked: { at: number; drained: number } | undefined;
  private closed = false;
  private corked = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /** Body bytes waiting here (not yet handed to the socket). */
  get queuedBytes(): number {
    return this.queued;
  }

  /** Frame bytes handed to the socket, after compression. */
  get bytesWritten(): number {
    return this.written;
  }

  /** Body bytes waiting in `lane`. */
  laneBytes(lane: Lane): number {
    return this.laneQueued[lane];
  }

  /**
   * Queues a message body in `lane`; `stream` names the file a bulk frame
   * belongs to. `framed`: the raw frame whose body `body` is, when it is built already.
   */
  enqueue(lane: Lane, body: Buffer, stream?: string, framed?: Buffer): void {
    this.add(lane, framed === undefined ? { body, stream } : { body, stream, framed });
  }

  /**
   * Queues `body` unless a frame enqueued with the same `key` still waits here:
   * for answers that carry no data of their own (a pong), one waiting is as
   * good as a thousand, and a peer that asks faster than it reads must not
   * make the queue grow.
   */
  enqueueOnce(lane: Exclude<Lane, 'bulk'>, key: string, body: Buffer): void {
    if (this.keys.has(key)) return;
    this.add(lane, { body, stream: undefined, key });
  }

  private add(lane: Lane, item: Queued): void {
    if (this.closed) return;
    const { body, stream } = item;
    if (item.key !== undefined) this.keys.add(item.key);
    if (lane === 'bulk') {
      const key = stream ?? '';
      const q = this.bulk.get(key);
      if (q === undefined) this.bulk.set(key, [item]);
      else q.push(item);
    } else this[lane].push(item);
    this.queued += body.length;
    this.laneQueued[lane] += body.length;
    this.pump();
  }

  /** Writes waiting frames while the socket and the upload limit have room. The socket's 'drain' calls it too. */
  pump(): void {
    if (this.closed) return;
    this.measureDrain();
    while (this.queued > 0) {
      if (this.deps.sink.writableLength >= HIGH_WATER) {
        this.blocked ??= { at: this.deps.clock.now(), drained: this.drained() };
        return;
      }
      const upload = this.deps.upload;
      const waitMs = upload?.waitMs() ?? 0;
      if (waitMs > 0) {
        this.deps.chooser.recordNetworkBound(upload!.bytesPerSecond);
        if (this.cancelWait === undefined) {
          this.cancelWait = this.deps.clock.setTimer(waitMs, () => {
            this.cancelWait = undefined;
            // Said again as the wait ends: a wait (plus the timer's lag on a busy loop) can outlast the
            // chooser's window for "the link is the bottleneck", and the frames sent now would go raw.
            this.deps.chooser.recordNetworkBound(upload!.bytesPerSecond);
            this.pump();
          });
        }
        return;
      }
      const [lane, next] = this.next();
      this.queued -= next.body.length;
      this.laneQueued[lane] -= next.body.length;
      if (next.key !== undefined) this.keys.delete(next.key);
      const frame = this.frame(next);
      upload?.take(frame.length);
      this.written += frame.length;
      this.corkUntilNextTick();
      const { framed } = next;
      const done = this.deps.frameDone ?? ((f: Buffer) => blockBodies.give(f));
      if (framed === undefined) this.deps.sink.write(frame);
      else if (frame === framed) this.deps.sink.write(frame, () => done(framed));
      else {
        // Sent compressed: the compressor has read the prebuilt frame's body, and nothing else will.
        this.deps.sink.write(frame);
        done(framed);
      }
      this.deps.onWritten?.(frame.length);
    }
  }

  /**
   * Frames written in one turn of the event loop (a batch of requests, the
   * answers to them) leave in one write: one TLS record and one syscall
   * instead of one per frame, which is most of what a small file costs.
   */
  private corkUntilNextTick(): void {
    const { sink } = this.deps;
    if (this.corked || sink.cork === undefined) return;
    this.corked = true;
    sink.cork();
    process.nextTick(() => {
      this.corked = false;
      sink.uncork?.();
    });
  }

  /** Drops everything still waiting; later enqueues are ignored. */
  close(): void {
    this.closed = true;
    this.cancelWait?.();
    this.control.length = this.index.length = this.small.length = 0;
    this.bulk.clear();
    this.keys.clear();
    this.queued = 0;
    this.laneQueued.control = this.laneQueued.index = this.laneQueued.small = this.laneQueued.bulk = 0;
  }

  private next(): [Lane, Queued] {
    const control = this.control.shift();
    if (control !== undefined) return ['control', control];
    const index = this.index.shift();
    if (index !== undefined) return ['index', index];
    const bulkWaiting = this.bulk.size > 0;
    if (this.small.length > 0 && (!bulkWaiting || this.smallRun < SMALL_RUN)) {
      this.smallRun++;
      return ['small', this.small.shift()!];
    }
    this.smallRun = 0;
    // Round robin: take the first stream's head, then move that stream to the back.
    const [key, q] = this.bulk.entries().next().value!;
    const item = q.shift()!;
    this.bulk.delete(key);
    if (q.length > 0) this.bulk.set(key, q);
    return ['bulk', item];
  }

  private frame(item: Queued): Buffer {
    const { body, stream, framed } = item;
    const raw = () => framed ?? encodeFrame(body);
    if (body.length < MIN_COMPRESS_BYTES) return raw();
    const { chooser, cpuNow } = this.deps;
    const choice = chooser.choose(stream);
    if (choice.codec === 'none') return raw();
    const started = cpuNow();
    const packed = compressBody(choice, body);
    const size = packed?.length ?? body.length;
    chooser.recordCompression(stream, choice, body.length, size, cpuNow() - started);
    if (packed === undefined || size >= body.length * WORTH_RATIO) return raw();
    return encodeCompressedFrame(CODEC_IDS[choice.codec], body.length, packed);
  }

  /** Frame bytes the socket has passed on to the network so far. */
  private drained(): number {
    return this.written - this.deps.sink.writableLength;
  }

  /** After waiting on the socket: how fast did it drain meanwhile? That is the link's pace. */
  private measureDrain(): void {
    const b = this.blocked;
    if (b === undefined || this.deps.sink.writableLength >= HIGH_WATER) return;
    this.blocked = undefined;
    const ms = this.deps.clock.now() - b.at;
    if (ms >= MIN_MEASURE_MS && this.deps.peerOnThisMachine !== true) this.deps.chooser.recordNetworkBound(((this.drained() - b.drained) / ms) * 1000);
  }
}
