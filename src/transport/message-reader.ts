/**
 * The receiving half of a session: bytes from the socket in, validated
 * messages out, one at a time. What a peer sends costs us work only as we get
 * to it, and never more than one message's worth at once:
 *
 * - A chunk is only appended to the frame decoder; each frame's header is
 *   read when the frame before it has been dealt with, so its limits are
 *   those of that moment: before the peer's Hello is accepted only a raw
 *   `hello` or `close` of a small size (budgets.ts GREETING_RULES), after it
 *   the budget of each message type.
 * - A compressed body is decompressed when its frame's turn comes, never a
 *   whole chunk's worth ahead.
 * - After SLICE_BYTES of messages the reader stops reading from the
 *   socket and lets the event loop turn before the next frame (TLS delivers
 *   every record it has in one turn, so without this a burst of cheap frames
 *   that are costly to decode holds the loop for as long as it lasts). The
 *   socket stays paused while frames wait, so TCP holds the peer back and
 *   what waits here is at most a chunk or two.
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../core/clock.js';
import { describeError, ProtocolError } from '../core/errors.js';
import { GREETING_RULES, SESSION_RULES, type MessageRules } from '../protocol/budgets.js';
import { blockBodies } from '../protocol/block-bodies.js';
import { decodeMessage } from '../protocol/codec.js';
import { FrameDecoder } from '../protocol/framing.js';
import type { Message } from '../protocol/messages.js';
import { RateMeter } from './rate-meter.js';
import type { TokenBucket } from './token-bucket.js';

/** Message bytes decoded in one turn of the event loop before the reader yields. */
export const SLICE_BYTES = 64 * 1024;
/**
 * What handling one message costs beyond its bytes, counted against the
 * slice: a dispatch, often a write to the socket. Without it a chunk of
 * 6,000 pings (one slice of bytes) took 430 ms over an in-memory pipe.
 */
const MESSAGE_COST_BYTES = 1024;
/** Least a peer must send per idle-timeout window in which no frame completes (see `silence`). */
const MIN_WINDOW_BYTES = 16 * 1024;

/** What a reader reads from and hands its messages to. */
export interface MessageReaderDeps {
  readonly socket: Duplex;
  readonly clock: Clock;
  /** The node's download limit, shared by every session; reading pauses while it is in debt. */
  readonly download?: TokenBucket;
  /** Each message, in order; the next is not decoded before this returns. */
  readonly deliver: (msg: Message) => void;
  /** The peer broke the protocol; the reader has stopped. */
  readonly fail: (reason: string) => void;
  /** Runs `fn` after the event loop has had a turn; setImmediate by default. */
  readonly defer?: (fn: () => void) => void;
}

/** Why the socket is paused; it reads again once no reason is left. */
type PauseReason = 'backlog' | 'download' | 'hold';

/** Reads one peer's messages; see the file comment. */
export class MessageReader {
  private readonly decoder = new FrameDecoder({ buffers: blockBodies });
  private rules: MessageRules = GREETING_RULES;
  private readonly paused = new Set<PauseReason>();
  private drainScheduled = false;
  private stopped = false;
  private received = 0;
  private readonly rate: RateMeter;
  private lastAt: number;
  /** Start of the current window without a whole frame, and `received` then (see `silence`). */
  private frameWindowAt: number;
  private frameWindowBytes = 0;
  private cancelResume: (() => void) | undefined;
  private readonly defer: (fn: () => void) => void;

  constructor(private readonly deps: MessageReaderDeps) {
    const now = () => deps.clock.now();
    this.rate = new RateMeter(now);
    this.lastAt = this.frameWindowAt = now();
    this.defer = deps.defer ?? ((fn) => setImmediate(fn));
    deps.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Bytes read from the peer. */
  get bytesReceived(): number {
    return this.received;
  }

  /** Bytes per second read over the last few seconds. */
  receivedPerSecond(): number {
    return this.rate.perSecond();
  }

  /** The peer's Hello was accepted: from the next frame on, every message type within its budget. */
  open(): void {
    this.rules = SESSION_RULES;
  }

  /** Delivers nothing more until `release` (what arrives meanwhile waits in the socket). */
  hold(): void {
    this.pause('hold');
  }

  /** Delivers again after `hold`. */
  release(): void {
    this.unpause('hold');
    this.scheduleDrain();
  }

  /** Stops for good: the session has ended. */
  stop(): void {
    this.stopped = true;
    this.cancelResume?.();
  }

  /**
   * Why the peer counts as gone at `now`, if it does: nothing received for
   * `idleTimeoutMs`, or bytes that never add up to a frame. A header, then a
   * byte a second (THREATS F1), would keep the first check happy forever while
   * a frame buffer is held, so a window of `idleTimeoutMs` with no whole frame
   * must carry at least MIN_WINDOW_BYTES: a slow but real link (1 KiB/s under
   * a bandwidth limit, a 256 KiB block taking minutes) does; a trickle does not.
   */
  silence(now: number, idleTimeoutMs: number): string | undefined {
    if (this.paused.size > 0) {
      // Not reading is our doing (frames waiting to be decoded, the download limit): whatever the
      // peer sends meanwhile waits in the socket, unseen. The windows start again when we read.
      this.lastAt = this.frameWindowAt = now;
      this.frameWindowBytes = this.received;
      return undefined;
    }
    if (now - this.lastAt > idleTimeoutMs) return `no traffic from peer for ${idleTimeoutMs} ms`;
    if (now - this.frameWindowAt > idleTimeoutMs) {
      const got = this.received - this.frameWindowBytes;
      if (got < MIN_WINDOW_BYTES) return `peer sends too slowly: ${got} bytes and no whole frame in ${idleTimeoutMs} ms`;
      this.frameWindowAt = now;
      this.frameWindowBytes = this.received;
    }
    return undefined;
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.received += chunk.length;
    this.rate.add(chunk.length);
    this.lastAt = this.deps.clock.now();
    this.throttleDownload(chunk.length);
    try {
      this.decoder.append(chunk);
    } catch (err) {
      this.failWith(err);
      return;
    }
    if (!this.drainScheduled && !this.paused.has('backlog') && !this.paused.has('hold')) this.drain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    this.defer(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Decodes and delivers frames until none is complete, the slice is spent, or delivery is held. */
  private drain(): void {
    let spent = 0;
    while (!this.stopped && !this.paused.has('hold')) {
      if (spent >= SLICE_BYTES) {
        this.pause('backlog');
        this.scheduleDrain();
        return;
      }
      let msg: Message;
      try {
        const rules = this.rules;
        const frame = this.decoder.next({ maxBytes: rules.maxBytes, compressed: rules.compressed });
        if (frame === undefined) break;
        const body = this.decoder.open(frame, rules.maxBytes);
        this.frameWindowAt = this.deps.clock.now();
        this.frameWindowBytes = this.received;
        spent += body.length + MESSAGE_COST_BYTES;
        msg = decodeMessage(body, rules);
      } catch (err) {
        this.failWith(err);
        return;
      }
      this.deps.deliver(msg);
    }
    this.unpause('backlog');
  }

  private failWith(err: unknown): void {
    this.stop();
    const stage = this.rules === GREETING_RULES ? 'before its hello: ' : '';
    const detail = err instanceof ProtocolError ? err.message : describeError(err);
    this.deps.fail(`protocol error: ${stage}${detail}`);
  }

  private pause(reason: PauseReason): void {
    if (this.paused.size === 0) this.deps.socket.pause();
    this.paused.add(reason);
  }

  private unpause(reason: PauseReason): void {
    if (!this.paused.delete(reason) || this.paused.size > 0 || this.stopped) return;
    this.deps.socket.resume();
  }

  /**
   * Pays for `bytes` read from the peer out of the download limit; when it
   * runs dry, stops reading until the debt is paid, so TCP slows the sender.
   */
  private throttleDownload(bytes: number): void {
    const bucket = this.deps.download;
    if (bucket === undefined) return;
    bucket.take(bytes);
    const waitMs = bucket.waitMs();
    if (waitMs === 0 || this.cancelResume !== undefined) return;
    this.pause('download');
    this.cancelResume = this.deps.clock.setTimer(waitMs, () => {
      this.cancelResume = undefined;
      this.unpause('download');
      // The limit may have been lowered meanwhile: pay again for nothing, which re-checks.
      this.throttleDownload(0);
    });
  }
}
