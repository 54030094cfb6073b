/**
 * Length-prefixed frames: a 4-byte unsigned big-endian body length, then the
 * body. The length is checked before any byte of the body is held, so a peer
 * cannot make us reserve memory by announcing a large frame.
 */
import { ProtocolError } from '../core/errors.js';
import { LIMITS } from './messages.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/**
 * First allocation for a body that arrives in pieces. Bodies then grow by
 * doubling, so a frame trickled in 1-byte chunks costs O(n) copying, and a
 * peer that announces 4 MiB but sends 10 bytes holds 64 KiB, not 4 MiB.
 */
const MIN_BODY_CAPACITY = 64 * 1024;

/** Frames `body`. Throws ProtocolError for an empty body or one over `LIMITS.maxFrameBytes`. */
export function encodeFrame(body: Uint8Array): Buffer {
  if (body.length === 0) throw new ProtocolError('encoding frame: empty body');
  if (body.length > LIMITS.maxFrameBytes) {
    throw new ProtocolError(`encoding frame: body of ${body.length} bytes exceeds ${LIMITS.maxFrameBytes}`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /** Largest body accepted; defaults to `LIMITS.maxFrameBytes`. */
  readonly maxFrameBytes?: number;
}

/**
 * Splits a byte stream into frame bodies. Feed it every chunk in order; it
 * returns the bodies each chunk completes. A body that arrives whole inside
 * one chunk is returned as a view of that chunk (no copy), so chunks must not
 * be modified after they are pushed.
 *
 * A bad length throws ProtocolError, and the decoder stays failed: every
 * later `push` throws too, because the stream can no longer be resynchronised.
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES);
  #headerFilled = 0;
  /** Body length of the frame being read; -1 while reading a header. */
  #bodyLength = -1;
  #body: Buffer | null = null;
  #bodyFilled = 0;
  #failure: ProtocolError | null = null;

  constructor(opts: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = opts.maxFrameBytes ?? LIMITS.maxFrameBytes;
  }

  /** True when bytes of an unfinished frame are held: the stream must not end here. */
  get hasPartialFrame(): boolean {
    return this.#headerFilled > 0 || this.#bodyLength >= 0;
  }

  /** Appends `chunk` and returns every frame body it completes, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.#failure) {
      throw new ProtocolError('frame decoder failed earlier and cannot continue', { cause: this.#failure });
    }
    const frames: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#bodyLength < 0) {
        const n = Math.min(FRAME_HEADER_BYTES - this.#headerFilled, chunk.length - pos);
        chunk.copy(this.#header, this.#headerFilled, pos, pos + n);
        this.#headerFilled += n;
        pos += n;
        if (this.#headerFilled < FRAME_HEADER_BYTES) break;
        this.#headerFilled = 0;
        this.#bodyLength = this.#checkLength(this.#header.readUInt32BE(0));
        continue;
      }
      const available = chunk.length - pos;
      if (this.#bodyFilled === 0 && available >= this.#bodyLength) {
        frames.push(chunk.subarray(pos, pos + this.#bodyLength));
        pos += this.#bodyLength;
        this.#bodyLength = -1;
        continue;
      }
      const n = Math.min(this.#bodyLength - this.#bodyFilled, available);
      const body = this.#reserve(this.#bodyFilled + n);
      chunk.copy(body, this.#bodyFilled, pos, pos + n);
      this.#bodyFilled += n;
      pos += n;
      if (this.#bodyFilled === this.#bodyLength) {
        // #reserve never grows past the body length, so the buffer is exactly the body.
        frames.push(body);
        this.#body = null;
        this.#bodyFilled = 0;
        this.#bodyLength = -1;
      }
    }
    return frames;
  }

  #checkLength(length: number): number {
    if (length === 0 || length > this.#maxFrameBytes) {
      this.#failure = new ProtocolError(
        length === 0
          ? 'reading frame header: zero-length frame'
          : `reading frame header: frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`,
      );
      throw this.#failure;
    }
    return length;
  }

  /** The partial body buffer, grown (doubling, capped at the body length) to hold `needed` bytes. */
  #reserve(needed: number): Buffer {
    const current = this.#body;
    if (current && current.length >= needed) return current;
    const capacity = Math.min(this.#bodyLength, Math.max(needed, MIN_BODY_CAPACITY, (current?.length ?? 0) * 2));
    const grown = Buffer.allocUnsafe(capacity);
    if (current) current.copy(grown, 0, 0, this.#bodyFilled);
    this.#body = grown;
    return grown;
  }
}
