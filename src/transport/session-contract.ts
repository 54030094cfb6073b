/**
 * What a session (session.ts) promises its user and what it is built with:
 * the handler the node implements to take the peer's messages, the timings
 * and limits, and the figures status shows of a live session.
 */
import type { FileAnswer, FilesRequestMessage, IndexMessage, IntroduceMessage, RequestMessage, RevocationsMessage, SumsMessage, SumsRequestMessage } from '../protocol/messages.js';
import type { CodecStatus, CompressionMode } from './codec-chooser.js';
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
