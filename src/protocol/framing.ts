/**
 * Length-prefixed frames: a 4-byte unsigned big-endian header, then the body.
 * The header's top byte names the body's codec (0 raw, 1 LZ4, 2 zstd; see
 * compression.ts), its low 24 bits the body's length on the wire. A
 * compressed body starts with its 4-byte raw length. Both lengths are checked
 * before any byte is held or allocated, so a peer cannot make us reserve
 * memory by announcing a large frame, nor expand a small one past the limit.
 */
import { ProtocolError } from '../core/errors.js';
import { CODEC_IDS, decompressBody } from './compression.js';
import { LIMITS } from './messages.js';

/** Bytes of the frame header. */
export const FRAME_HEADER_BYTES = 4;
/** Bytes of the raw-length prefix of a compressed body. */
const RAW_LENGTH_BYTES = 4;
/** Bits of the header that hold the body length. */
const LENGTH_BITS = 24;
const LENGTH_MASK = (1 << LENGTH_BITS) - 1;

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

/**
 * Frames `payload`, the compression with codec `codecId` of a body of
 * `rawLength` bytes. The caller sends the raw body instead when compression
 * does not make it smaller, so the wire length stays under the frame limit.
 */
export function encodeCompressedFrame(codecId: number, rawLength: number, payload: Uint8Array): Buffer {
  if (codecId !== CODEC_IDS.lz4 && codecId !== CODEC_IDS.zstd) throw new ProtocolError(`encoding frame: unknown codec ${codecId}`);
  if (rawLength === 0 || rawLength > LIMITS.maxFrameBytes || payload.length >= rawLength) {
    throw new ProtocolError(`encoding frame: compressed body of ${payload.length} bytes for ${rawLength} raw bytes`);
  }
  const wireLength = RAW_LENGTH_BYTES + payload.length;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + wireLength);
  frame.writeUInt32BE(((codecId << LENGTH_BITS) | wireLength) >>> 0, 0);
  frame.writeUInt32BE(rawLength, FRAME_HEADER_BYTES);
  frame.set(payload, FRAME_HEADER_BYTES + RAW_LENGTH_BYTES);
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
  /** Codec of the frame being read. */
  #codec = 0;
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

  /** Appends `chunk` and returns every frame body it completes, in order, decompressed. */
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
        this.#bodyLength = this.#checkHeader(this.#header.readUInt32BE(0));
        continue;
      }
      const available = chunk.length - pos;
      if (this.#bodyFilled === 0 && available >= this.#bodyLength) {
        frames.push(this.#open(chunk.subarray(pos, pos + this.#bodyLength)));
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
        frames.push(this.#open(body));
        this.#body = null;
        this.#bodyFilled = 0;
        this.#bodyLength = -1;
      }
    }
    return frames;
  }

  #checkHeader(header: number): number {
    const codec = header >>> LENGTH_BITS;
    const length = header & LENGTH_MASK;
    const minLength = codec === CODEC_IDS.none ? 1 : RAW_LENGTH_BYTES + 1;
    if (codec !== CODEC_IDS.none && codec !== CODEC_IDS.lz4 && codec !== CODEC_IDS.zstd) {
      this.#fail(`reading frame header: unknown codec ${codec}`);
    }
    if (length < minLength) this.#fail(`reading frame header: frame of ${length} bytes is too short`);
    if (length > this.#maxFrameBytes) this.#fail(`reading frame header: frame of ${length} bytes exceeds the limit of ${this.#maxFrameBytes}`);
    this.#codec = codec;
    return length;
  }

  /** The body of a complete frame, decompressed when the header says so. */
  #open(wire: Buffer): Buffer {
    if (this.#codec === CODEC_IDS.none) return wire;
    const rawLength = wire.readUInt32BE(0);
    if (rawLength === 0 || rawLength > this.#maxFrameBytes) {
      this.#fail(`reading frame: compressed body claims ${rawLength} raw bytes, the limit is ${this.#maxFrameBytes}`);
    }
    try {
      return decompressBody(this.#codec, wire.subarray(RAW_LENGTH_BYTES), rawLength);
    } catch (err) {
      if (err instanceof ProtocolError) this.#failure = err;
      throw err;
    }
  }

  #fail(message: string): never {
    this.#failure = new ProtocolError(message);
    throw this.#failure;
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
